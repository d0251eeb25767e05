// AVX-512 (F/BW/VL/DQ, + VNNI when present) kernels, compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512dq -mavx512vnni (and the AVX2 flags).
//
// The table starts from AVX2's. This file replaces the float dots (two zmm accumulators hold
// the reference's 32 lanes) and, when the CPU has VNNI, the integer block dots (VPDPBUSD sums
// four byte products straight into int32). Quantize and dequantize stay AVX2: they are
// bounded by scale selection and memory, not by vector width.
//
// Exactness is argued as in avx2.cc: exact integer block sums, each block's term computed as
// block_term_* computes it and added to lane b % 4; float element i fused into lane i % 32.
// Only intrinsics, this file's anonymous namespace and out-of-line ref:: functions are called
// here (see avx2.cc for why).
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
#include <cstring>

#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {
namespace {

// --- Float dots -------------------------------------------------------------------------------
//
// Element i is fused into lane i % 32: one zmm holds lanes 0-15, the other 16-31. The reference
// finishes the tail and folds the lanes.

__m512 bf16x16_to_ps(const bf16_t* x) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

__m512 f16x16_to_ps(const fp16_t* x) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
}

float vec_dot_f32_f32_avx512(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const float*>(vx);
  const auto* y = static_cast<const float*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
  }
  alignas(64) float lanes[ref::kFloatLanes];
  _mm512_store_ps(lanes, acc0);
  _mm512_store_ps(lanes + 16, acc1);
  return ref::finish_dot_f32(x, y, i, n, lanes);
}

float vec_dot_f16_f32_avx512(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const fp16_t*>(vx);
  const auto* y = static_cast<const float*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(f16x16_to_ps(x + i), _mm512_loadu_ps(y + i), acc0);
    acc1 = _mm512_fmadd_ps(f16x16_to_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
  }
  alignas(64) float lanes[ref::kFloatLanes];
  _mm512_store_ps(lanes, acc0);
  _mm512_store_ps(lanes + 16, acc1);
  return ref::finish_dot_f16(x, y, i, n, lanes);
}

float vec_dot_bf16_f32_avx512(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const bf16_t*>(vx);
  const auto* y = static_cast<const float*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(bf16x16_to_ps(x + i), _mm512_loadu_ps(y + i), acc0);
    acc1 = _mm512_fmadd_ps(bf16x16_to_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
  }
  alignas(64) float lanes[ref::kFloatLanes];
  _mm512_store_ps(lanes, acc0);
  _mm512_store_ps(lanes + 16, acc1);
  return ref::finish_dot_bf16(x, y, i, n, lanes);
}

// --- Block dots with VNNI ---------------------------------------------------------------------
//
// A zmm holds two blocks (bytes 0-31 block b, 32-63 block b + 1, each in value order), so
// VPDPBUSD leaves block b's sum in int32 lanes 0-7 and block b + 1's in lanes 8-15. Eight
// blocks (four zmm) are folded to eight exact sums, converted together, and turned into the
// float terms block_term_* computes: blocks b..b+3 go to accumulator lanes 0-3 first, then
// b+4..b+7, as the reference adds them. Up to seven tail blocks use the reference's terms.

// The 64 bytes of two blocks' 32-byte code arrays.
__m512i load_two(const int8_t* first, const int8_t* second) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(first));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(second));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// The four-bit codes of two blocks in value order: each 16-byte qs is loaded into two 128-bit
// chunks, the second of which is shifted right by 4 (low nibbles are values 0-15, high 16-31).
__m512i unpack_nibbles_two(const uint8_t* qs0, const uint8_t* qs1) {
  const __m256i a = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0)));
  const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1)));
  const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  const __m512i shifted = _mm512_srlv_epi64(both, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4));
  return _mm512_and_si512(shifted, _mm512_set1_epi8(0x0f));
}

// Bit j of the result is bit 4 of value j of the two blocks (bits 0-31: first block).
__mmask64 high_bits_two(const uint8_t* qh0, const uint8_t* qh1) {
  uint32_t h0, h1;
  std::memcpy(&h0, qh0, sizeof h0);
  std::memcpy(&h1, qh1, sizeof h1);
  return _cvtu64_mask64(static_cast<uint64_t>(h0) | (static_cast<uint64_t>(h1) << 32));
}

// The five-bit codes of two blocks in value order: + 16 where the high bit is set.
template <typename Block>
__m512i unpack_five_bits_two(const Block* x) {
  const __m512i low = unpack_nibbles_two(x[0].qs, x[1].qs);
  return _mm512_mask_add_epi8(low, high_bits_two(x[0].qh, x[1].qh), low, _mm512_set1_epi8(16));
}

// sum((q - bias) * y) per int32 lane for unsigned codes q and a bias that VPDPBUSD takes as an
// unsigned byte: q * y and bias * y are summed separately and subtracted, exact for any y.
__m512i dot_biased(__m512i q, __m512i bias, __m512i y) {
  const __m512i zero = _mm512_setzero_si512();
  return _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, q, y), _mm512_dpbusd_epi32(zero, bias, y));
}

// Lane k of the result is the exact sum of block k's eight int32 lanes, where v[i] holds blocks
// 2i (lanes 0-7) and 2i + 1 (lanes 8-15).
__m256i fold8_blocks(const __m512i v[4]) {
  // Per 128-bit chunk k: s0 holds four partial sums of block k, s1 of block k + 4.
  const __m512i s0 = _mm512_add_epi32(_mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i s1 = _mm512_add_epi32(_mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(3, 1, 3, 1)));
  // h chunk k: [s0[0]+s0[2], s1[0]+s1[2], s0[1]+s0[3], s1[1]+s1[3]].
  const __m512i h = _mm512_add_epi32(_mm512_unpacklo_epi32(s0, s1), _mm512_unpackhi_epi32(s0, s1));
  // g chunk k: [block k, block k + 4, block k, block k + 4].
  const __m512i g = _mm512_add_epi32(h, _mm512_shuffle_epi32(h, _MM_PERM_BADC));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, g));
}

// The fp16 field of blocks b[0..count), count 4 or 8, widened (lanes past count are 0),
// gathered in general-purpose registers (see avx2.cc).
template <typename Block>
__m256 halves(const Block* b, fp16_t Block::*field, int count) {
  uint64_t lo = 0, hi = 0;
  for (int k = 0; k < 4; ++k) lo |= static_cast<uint64_t>(b[k].*field) << (16 * k);
  if (count == 8) {
    for (int k = 0; k < 4; ++k) hi |= static_cast<uint64_t>(b[k + 4].*field) << (16 * k);
  }
  asm("" : "+r"(lo), "+r"(hi));
  return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(lo)));
}

// The symmetric formats' term: (float)isum * (dx * dy).
template <typename BlockX, typename BlockY>
__m256 symmetric_terms(const BlockX* x, const BlockY* y, int count, __m256i isum) {
  const __m256 dd = _mm256_mul_ps(halves(x, &BlockX::d, count), halves(y, &BlockY::d, count));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(isum), dd);
}

// The offset formats' term: (dx * dy) * (float)isum + m * s.
template <typename BlockX>
__m256 offset_terms(const BlockX* x, const BlockQ8_1* y, int count, __m256i isum) {
  const __m256 dd = _mm256_mul_ps(halves(x, &BlockX::d, count), halves(y, &BlockQ8_1::d, count));
  const __m256 ms = _mm256_mul_ps(halves(x, &BlockX::m, count), halves(y, &BlockQ8_1::s, count));
  return _mm256_add_ps(_mm256_mul_ps(dd, _mm256_cvtepi32_ps(isum)), ms);
}

// Dot supplies X and Y (block types), two(x, y) (the int32 partial sums of blocks x[0], x[1]
// against y[0], y[1]), terms(x, y, count, sums) and ref_term(x, y).
template <typename Dot>
float block_dot(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const typename Dot::X*>(vx);
  const auto* y = static_cast<const typename Dot::Y*>(vy);
  const int64_t nb = n / kBlockSize;
  __m128 acc = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    __m512i p[4];
    for (int k = 0; k < 4; ++k) p[k] = Dot::two(x + b + 2 * k, y + b + 2 * k);
    const __m256 t = Dot::terms(x + b, y + b, 8, fold8_blocks(p));
    acc = _mm_add_ps(acc, _mm256_castps256_ps128(t));
    acc = _mm_add_ps(acc, _mm256_extractf128_ps(t, 1));
  }
  if (b + 4 <= nb) {
    const __m512i p[4] = {Dot::two(x + b, y + b), Dot::two(x + b + 2, y + b + 2), _mm512_setzero_si512(),
                          _mm512_setzero_si512()};
    acc = _mm_add_ps(acc, _mm256_castps256_ps128(Dot::terms(x + b, y + b, 4, fold8_blocks(p))));
    b += 4;
  }
  alignas(16) float lanes[ref::kBlockLanes];
  _mm_store_ps(lanes, acc);
  for (; b < nb; ++b) lanes[b % ref::kBlockLanes] += Dot::ref_term(x[b], y[b]);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

struct DotQ4_0 {
  using X = BlockQ4_0;
  using Y = BlockQ8_0;
  static __m512i two(const X* x, const Y* y) {
    return dot_biased(unpack_nibbles_two(x[0].qs, x[1].qs), _mm512_set1_epi8(8), load_two(y[0].qs, y[1].qs));
  }
  static __m256 terms(const X* x, const Y* y, int count, __m256i s) { return symmetric_terms(x, y, count, s); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q4_0_q8_0(x, y); }
};

struct DotQ5_0 {
  using X = BlockQ5_0;
  using Y = BlockQ8_0;
  static __m512i two(const X* x, const Y* y) {
    return dot_biased(unpack_five_bits_two(x), _mm512_set1_epi8(16), load_two(y[0].qs, y[1].qs));
  }
  static __m256 terms(const X* x, const Y* y, int count, __m256i s) { return symmetric_terms(x, y, count, s); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q5_0_q8_0(x, y); }
};

struct DotQ4_1 {
  using X = BlockQ4_1;
  using Y = BlockQ8_1;
  static __m512i two(const X* x, const Y* y) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_nibbles_two(x[0].qs, x[1].qs),
                               load_two(y[0].qs, y[1].qs));
  }
  static __m256 terms(const X* x, const Y* y, int count, __m256i s) { return offset_terms(x, y, count, s); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q4_1_q8_1(x, y); }
};

struct DotQ5_1 {
  using X = BlockQ5_1;
  using Y = BlockQ8_1;
  static __m512i two(const X* x, const Y* y) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_five_bits_two(x), load_two(y[0].qs, y[1].qs));
  }
  static __m256 terms(const X* x, const Y* y, int count, __m256i s) { return offset_terms(x, y, count, s); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q5_1_q8_1(x, y); }
};

struct DotQ8_0 {
  using X = BlockQ8_0;
  using Y = BlockQ8_0;
  // VPDPBUSD wants one unsigned operand: x + 128 (x ^ 0x80) times y, minus 128 * y. Exact for
  // any bytes, including -128.
  static __m512i two(const X* x, const Y* y) {
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512i x_plus_128 = _mm512_xor_si512(load_two(x[0].qs, x[1].qs), bias);
    return dot_biased(x_plus_128, bias, load_two(y[0].qs, y[1].qs));
  }
  static __m256 terms(const X* x, const Y* y, int count, __m256i s) { return symmetric_terms(x, y, count, s); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q8_0_q8_0(x, y); }
};

float vec_dot_q4_0_q8_0_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ4_0>(n, x, y); }
float vec_dot_q4_1_q8_1_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ4_1>(n, x, y); }
float vec_dot_q5_0_q8_0_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ5_0>(n, x, y); }
float vec_dot_q5_1_q8_1_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ5_1>(n, x, y); }
float vec_dot_q8_0_q8_0_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ8_0>(n, x, y); }

}  // namespace

void fill_avx512_table(KernelTable* t, bool vnni) {
  (*t)[Format::kF32].vec_dot = vec_dot_f32_f32_avx512;
  (*t)[Format::kF16].vec_dot = vec_dot_f16_f32_avx512;
  (*t)[Format::kBF16].vec_dot = vec_dot_bf16_f32_avx512;
  if (!vnni) return;  // without VPDPBUSD the AVX2 integer dots stay
  (*t)[Format::kQ4_0].vec_dot = vec_dot_q4_0_q8_0_avx512_vnni;
  (*t)[Format::kQ4_1].vec_dot = vec_dot_q4_1_q8_1_avx512_vnni;
  (*t)[Format::kQ5_0].vec_dot = vec_dot_q5_0_q8_0_avx512_vnni;
  (*t)[Format::kQ5_1].vec_dot = vec_dot_q5_1_q8_1_avx512_vnni;
  (*t)[Format::kQ8_0].vec_dot = vec_dot_q8_0_q8_0_avx512_vnni;
}

}  // namespace quantd::kernels
