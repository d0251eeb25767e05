// AVX-512 (F/BW/VL/DQ) kernels, compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq (and
// the AVX2 flags), without -mavx512vnni: this table is the one for AVX-512 CPUs that lack VNNI.
//
// The table starts from AVX2's. This file replaces the float dots (two zmm accumulators hold
// the reference's 32 lanes); the integer block dots stay AVX2's here and are replaced by
// avx512_vnni.cc on CPUs with VPDPBUSD. Quantize and dequantize stay AVX2: they are bounded by
// scale selection and memory, not by vector width.
//
// Exactness is argued as in avx2.cc: float element i fused into lane i % 32. Only intrinsics,
// this file's anonymous namespace and out-of-line ref:: functions are called here (see avx2.cc
// for why).
//
// Not run on hardware during development (AMD Zen 3 has no AVX-512): checked there only
// against a scalar emulation of the intrinsics used. The ISA tests check it on any CPU that
// has AVX-512.

// GCC 12's _mm512_undefined_* (used inside the unmasked AVX-512 intrinsics) trips a false
// -Wmaybe-uninitialized (GCC bug 105593); the pragma must precede the header to cover it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {
namespace {

// --- Float dots -------------------------------------------------------------------------------
//
// Element i is fused into lane i % 32: one zmm holds lanes 0-15, the other 16-31. The reference
// finishes the tail (Finish: ref::finish_dot_*) and folds the lanes.

__m512 f32x16_to_ps(const float* x) { return _mm512_loadu_ps(x); }

__m512 bf16x16_to_ps(const bf16_t* x) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

__m512 f16x16_to_ps(const fp16_t* x) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
}

template <typename T, __m512 (*Load)(const T*),
          float (*Finish)(const T*, const float*, int64_t, int64_t, float*)>
float float_dot(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const T*>(vx);
  const auto* y = static_cast<const float*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(Load(x + i), _mm512_loadu_ps(y + i), acc0);
    acc1 = _mm512_fmadd_ps(Load(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
  }
  alignas(64) float lanes[ref::kFloatLanes];
  _mm512_store_ps(lanes, acc0);
  _mm512_store_ps(lanes + 16, acc1);
  return Finish(x, y, i, n, lanes);
}

}  // namespace

void fill_avx512_table(KernelTable* t) {
  (*t)[Format::kF32].vec_dot = float_dot<float, f32x16_to_ps, ref::finish_dot_f32>;
  (*t)[Format::kF16].vec_dot = float_dot<fp16_t, f16x16_to_ps, ref::finish_dot_f16>;
  (*t)[Format::kBF16].vec_dot = float_dot<bf16_t, bf16x16_to_ps, ref::finish_dot_bf16>;
}

}  // namespace quantd::kernels
