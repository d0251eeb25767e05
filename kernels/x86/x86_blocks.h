// Block-dot pieces shared by avx2.cc and avx512_vnni.cc (internal): widening a group's fp16
// scales, turning exact integer block sums into the reference's float terms, and the scalar
// tail. kernels/arm/neon_blocks.h does the same for NEON.
//
// Everything here is in an anonymous namespace, so each file gets its own copy compiled with
// its own flags: an inline function with external linkage would be emitted as a weak symbol by
// both files, and the linker could pick the AVX-512 copy for a CPU that has only AVX2. Needs
// at least AVX2 + F16C; include only from the x86/ files.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "internal/reference.h"
#include "quantd/kernels/formats.h"

namespace quantd::kernels {
namespace {

// The fp16 field of blocks b[0..count), count 4 or 8, widened (lanes past count are 0). The
// halves are gathered in general-purpose registers, which keeps them off the vector ALUs
// (the bottleneck of the dots); the empty asm stops GCC from vectorizing the gather.
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

// A group's x scales, widened: d, and m for the offset formats (zero for the others).
struct XScales {
  __m256 d;
  __m256 m;
};

template <typename BlockX>
XScales x_scales(const BlockX* x, int count) {
  if constexpr (requires { &BlockX::m; }) {
    return {halves(x, &BlockX::d, count), halves(x, &BlockX::m, count)};
  } else {
    return {halves(x, &BlockX::d, count), _mm256_setzero_ps()};
  }
}

// The symmetric formats' term, as ref::block_term_* rounds it: (float)isum * (dx * dy).
template <typename BlockY>
__m256 symmetric_terms(XScales xs, const BlockY* y, int count, __m256i isum) {
  const __m256 dd = _mm256_mul_ps(xs.d, halves(y, &BlockY::d, count));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(isum), dd);
}

// The offset formats' term: (dx * dy) * (float)isum + m * s.
__m256 offset_terms(XScales xs, const BlockQ8_1* y, int count, __m256i isum) {
  const __m256 dd = _mm256_mul_ps(xs.d, halves(y, &BlockQ8_1::d, count));
  const __m256 ms = _mm256_mul_ps(xs.m, halves(y, &BlockQ8_1::s, count));
  return _mm256_add_ps(_mm256_mul_ps(dd, _mm256_cvtepi32_ps(isum)), ms);
}

// The term of each block pair, by the partner format: Q8_1 partners the offset formats.
template <typename BlockY>
__m256 block_terms(XScales xs, const BlockY* y, int count, __m256i isum) {
  if constexpr (std::is_same_v<BlockY, BlockQ8_1>) {
    return offset_terms(xs, y, count, isum);
  } else {
    return symmetric_terms(xs, y, count, isum);
  }
}

// The reference's term of one block pair, for the tails.
float ref_term(const BlockQ4_0& x, const BlockQ8_0& y) { return ref::block_term_q4_0_q8_0(x, y); }
float ref_term(const BlockQ4_1& x, const BlockQ8_1& y) { return ref::block_term_q4_1_q8_1(x, y); }
float ref_term(const BlockQ5_0& x, const BlockQ8_0& y) { return ref::block_term_q5_0_q8_0(x, y); }
float ref_term(const BlockQ5_1& x, const BlockQ8_1& y) { return ref::block_term_q5_1_q8_1(x, y); }
float ref_term(const BlockQ8_0& x, const BlockQ8_0& y) { return ref::block_term_q8_0_q8_0(x, y); }

// Adds the terms of eight blocks b..b+7 to the lanes b % 4: b..b+3 first, then b+4..b+7, as
// the reference adds them.
__m128 add_terms8(__m128 acc, __m256 t) {
  acc = _mm_add_ps(acc, _mm256_castps256_ps128(t));
  return _mm_add_ps(acc, _mm256_extractf128_ps(t, 1));
}

// Blocks [b, nb) with the reference's terms into lanes b % 4, then the reference's fold.
template <typename X, typename Y>
float finish_block_dot(__m128 acc, const X* x, const Y* y, int64_t b, int64_t nb) {
  alignas(16) float lanes[ref::kBlockLanes];
  _mm_store_ps(lanes, acc);
  for (; b < nb; ++b) lanes[b % ref::kBlockLanes] += ref_term(x[b], y[b]);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

}  // namespace
}  // namespace quantd::kernels
