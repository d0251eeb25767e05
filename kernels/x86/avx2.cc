// AVX2 + FMA + F16C kernels, compiled with -mavx2 -mfma -mf16c -mbmi2.
//
// Every function gives the reference's bytes and floats (kernels/internal/reference.h):
// - quantize: the same scale arithmetic (d = extreme / k as a division, id = 1/d, the
//   reference's zero and finiteness rules), the same per-value multiply and add (never fused:
//   the project builds with -ffp-contract=off) and the same truncation or rounding;
// - dequantize: (float)code * d, then + m for the offset formats, as two roundings;
// - vec_dot: exact integer block sums, each block's float term built as block_term_* builds
//   it, added to lane b % 4; float dots fuse element i into lane i % 32.
// Only intrinsics, functions of this file's anonymous namespace (and of x86_blocks.h's, also
// anonymous) and out-of-line ref:: functions are called here: an inline function of a shared header compiled with AVX flags
// could be emitted as a weak symbol that the linker then picks for baseline code.
//
// Measured on AMD EPYC (Zen 3), one thread, 65,536 L2-resident values, TSC cycles per 32 values
// (core cycles are about 0.77x), reference -> AVX2:
//   quantize   q4_0 109 -> 18, q4_1 104 -> 21, q5_0 138 -> 19, q5_1 132 -> 21,
//              q8_0 340 -> 15, q8_1 323 -> 18, f16 124 -> 5.3, bf16 31 -> 9.3
//   dequantize q4_0 43 -> 8.1, q4_1 50 -> 9.4, q5_0 67 -> 9.3, q5_1 62 -> 10.4,
//              q8_0 11.5 -> 6.1 (the reference auto-vectorizes), f16 125 -> 5.2
//   vec_dot    q4_0 57 -> 3.3, q4_1 23 -> 3.4, q5_0 106 -> 4.7, q5_1 114 -> 4.3, q8_0 17 -> 3.4,
//              f32 247 -> 7.0, f16 297 -> 5.0, bf16 247 -> 4.9
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "internal/reference.h"
#include "internal/tables.h"
#include "x86/x86_blocks.h"

namespace quantd::kernels {
namespace {

// Blocks whose scales are computed together, one per lane of a ymm.
constexpr int kGroup = 8;

// --- Scalar helpers ---------------------------------------------------------------------------
//
// F16C rounds to nearest even, keeps subnormals, overflows to infinity and quiets NaNs with
// the payload truncated, exactly as float_to_fp16 / fp16_to_float.

float half_to_float(fp16_t h) { return _cvtsh_ss(h); }

// Asks for the bytes [p + kPrefetchDistance, + bytes) ahead of use. A block-format row streamed
// from DRAM by one core otherwise alternates between computing and waiting: the hardware
// prefetcher alone does not run far enough ahead (q8_0/q4_0 decode measured 20-35% faster with
// it; the float dots, lighter on compute, measured slower and do without). Prefetches past the
// end of a row fetch the start of the next one and never fault.
constexpr size_t kPrefetchDistance = 2048;
void prefetch_ahead(const void* p, size_t bytes) {
  // Integer arithmetic: the address may lie past the end of the row's array.
  const uintptr_t base = reinterpret_cast<uintptr_t>(p) + kPrefetchDistance;
  for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(base + off), _MM_HINT_T0);
}

__m256 broadcast_half(fp16_t h) { return _mm256_set1_ps(half_to_float(h)); }

int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

// --- Folding eight vectors lane-wise ----------------------------------------------------------

// Lane k of the result is op over all eight lanes of v[k]. Exact for min and max (only the
// sign of a zero result can depend on the order; callers that care fix that up).
template <typename Op>
__m256 fold8_ps(const __m256 v[kGroup], Op op) {
  __m256 p[4];
  for (int k = 0; k < 4; ++k) {
    p[k] = op(_mm256_unpacklo_ps(v[2 * k], v[2 * k + 1]), _mm256_unpackhi_ps(v[2 * k], v[2 * k + 1]));
  }
  const __m256 q0 = op(_mm256_shuffle_ps(p[0], p[1], _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm256_shuffle_ps(p[0], p[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 q1 = op(_mm256_shuffle_ps(p[2], p[3], _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm256_shuffle_ps(p[2], p[3], _MM_SHUFFLE(3, 2, 3, 2)));
  // q0 holds blocks 0-3 (per 128-bit half: that half's part), q1 blocks 4-7.
  return op(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
}

// Lane k of the result is the sum of the eight int32 lanes of v[k].
__m256i fold8_add_epi32(const __m256i v[kGroup]) {
  const __m256i g0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i g1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20), _mm256_permute2x128_si256(g0, g1, 0x31));
}

__m256 max_ps(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
__m256 min_ps(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }

__m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// --- Scale selection for a group of blocks ----------------------------------------------------

struct GroupScales {
  alignas(32) float id[kGroup];  // 1/d, 0 when d == 0
  alignas(16) fp16_t d[kGroup];  // d as stored in the block
  unsigned degenerate;           // bit k: block k gets all-zero codes
};

// ref::block_scale for eight blocks: the same division and the same rules for zero and for
// a d or 1/d that is not finite.
GroupScales group_scales(__m256 d) {
  GroupScales s;
  const __m256 inf = _mm256_set1_ps(__builtin_inff());
  // d != 0.0f is true for NaN too, hence the unordered compare.
  const __m256 nonzero = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_NEQ_UQ);
  const __m256 id = _mm256_and_ps(nonzero, _mm256_div_ps(_mm256_set1_ps(1.0f), d));
  const __m256 finite = _mm256_and_ps(_mm256_cmp_ps(abs_ps(d), inf, _CMP_LT_OQ),
                                      _mm256_cmp_ps(abs_ps(id), inf, _CMP_LT_OQ));
  s.degenerate = ~static_cast<unsigned>(_mm256_movemask_ps(finite)) & 0xffu;
  _mm256_store_ps(s.id, id);
  _mm_store_si128(reinterpret_cast<__m128i*>(s.d), _mm256_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT));
  return s;
}

// Lane k: the largest and the smallest value of block k of the `count` blocks at x (lanes
// past count are 0). When +0 and -0 meet, either may come out.
void max_min8(const float* x, int count, __m256* max, __m256* min) {
  __m256 hi[kGroup], lo[kGroup];
  for (int k = 0; k < kGroup; ++k) {
    if (k < count) {
      const float* p = x + k * kBlockSize;
      const __m256 v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8);
      const __m256 v2 = _mm256_loadu_ps(p + 16), v3 = _mm256_loadu_ps(p + 24);
      hi[k] = _mm256_max_ps(_mm256_max_ps(v0, v1), _mm256_max_ps(v2, v3));
      lo[k] = _mm256_min_ps(_mm256_min_ps(v0, v1), _mm256_min_ps(v2, v3));
    } else {
      hi[k] = lo[k] = _mm256_setzero_ps();
    }
  }
  *max = fold8_ps(hi, max_ps);
  *min = fold8_ps(lo, min_ps);
}

// The signed extreme (ref::signed_absmax) of the `count` blocks at x, one per lane.
// When max > -min the extreme is max, when -min > max it is min; a tie (both signs reach the
// largest magnitude, or an all-zero block) needs the first such index, which the reference
// finds. Ties are rare outside synthetic data.
__m256 signed_absmax8(const float* x, int count) {
  __m256 max, min;
  max_min8(x, count, &max, &min);
  const __m256 neg_min = _mm256_xor_ps(min, _mm256_set1_ps(-0.0f));
  __m256 extreme = _mm256_blendv_ps(min, max, _mm256_cmp_ps(max, neg_min, _CMP_GT_OQ));
  unsigned ties = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(max, neg_min, _CMP_EQ_OQ))) &
                  ((1u << count) - 1);
  if (ties != 0) {
    alignas(32) float e[kGroup];
    _mm256_store_ps(e, extreme);
    for (; ties != 0; ties &= ties - 1) {
      const int k = __builtin_ctz(ties);
      e[k] = ref::signed_absmax(x + k * kBlockSize);
    }
    extreme = _mm256_load_ps(e);
  }
  return extreme;
}

// The first value of the block that compares equal to zero (+0 or -0); the block has one.
float first_zero(const float* x) {
  const __m256 zero = _mm256_setzero_ps();
  uint32_t mask = 0;
  for (int k = 0; k < 4; ++k) {
    const __m256 eq = _mm256_cmp_ps(_mm256_loadu_ps(x + 8 * k), zero, _CMP_EQ_OQ);
    mask |= static_cast<uint32_t>(_mm256_movemask_ps(eq)) << (8 * k);
  }
  return x[__builtin_ctz(mask)];
}

// ref::block_min_max for the `count` blocks at x, one per lane. The reference keeps the first
// minimum and the first maximum, which only matters when they are zeros: a zero extreme is
// replaced by the block's first zero.
void block_min_max8(const float* x, int count, __m256* min, __m256* max) {
  max_min8(x, count, max, min);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 zero_extreme =
      _mm256_or_ps(_mm256_cmp_ps(*min, zero, _CMP_EQ_OQ), _mm256_cmp_ps(*max, zero, _CMP_EQ_OQ));
  unsigned zeros = static_cast<unsigned>(_mm256_movemask_ps(zero_extreme)) & ((1u << count) - 1);
  if (zeros != 0) {
    alignas(32) float lo[kGroup], hi[kGroup];
    _mm256_store_ps(lo, *min);
    _mm256_store_ps(hi, *max);
    for (; zeros != 0; zeros &= zeros - 1) {
      const int k = __builtin_ctz(zeros);
      const float z = first_zero(x + k * kBlockSize);
      if (lo[k] == 0.0f) lo[k] = z;
      if (hi[k] == 0.0f) hi[k] = z;
    }
    *min = _mm256_load_ps(lo);
    *max = _mm256_load_ps(hi);
  }
}

// max |x| of the `count` blocks at x, one per lane (the q8 formats' range).
__m256 absmax8(const float* x, int count) {
  __m256 m[kGroup];
  for (int k = 0; k < kGroup; ++k) {
    if (k < count) {
      const float* p = x + k * kBlockSize;
      const __m256 a = _mm256_max_ps(abs_ps(_mm256_loadu_ps(p)), abs_ps(_mm256_loadu_ps(p + 8)));
      const __m256 b = _mm256_max_ps(abs_ps(_mm256_loadu_ps(p + 16)), abs_ps(_mm256_loadu_ps(p + 24)));
      m[k] = _mm256_max_ps(a, b);
    } else {
      m[k] = _mm256_setzero_ps();
    }
  }
  return fold8_ps(m, max_ps);
}

// --- Packing codes ----------------------------------------------------------------------------

// 32 int32 codes (in order c0: values 0-7, ..., c3: 24-31) to 32 bytes in order, saturated to
// [0, 255]. packs/packus work per 128-bit half; the final permute restores value order.
__m256i pack_u8(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
  const __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// As pack_u8, saturated to [-128, 127].
__m256i pack_i8(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
  const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Codes < 16 of values 0-15 in the low nibbles and of values 16-31 in the high nibbles.
void store_nibbles(__m256i codes, uint8_t* qs) {
  const __m128i lo = _mm256_castsi256_si128(codes);
  const __m128i hi = _mm256_extracti128_si256(codes, 1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
}

// Five-bit codes: low four bits as nibbles, bit 4 of value j in bit j of qh. Bits above 4 are
// dropped, as the reference's pack5 drops them.
void store_five_bits(__m256i codes, uint8_t* qs, uint8_t* qh) {
  // Bit 4 shifted to bit 7 of its byte (16-bit shifts only spill into lower bits of the next byte).
  const uint32_t high = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_slli_epi16(codes, 3)));
  std::memcpy(qh, &high, sizeof high);
  store_nibbles(_mm256_and_si256(codes, _mm256_set1_epi8(0x0f)), qs);
}

// --- Quantize ---------------------------------------------------------------------------------

// (int)(x * id + bias) for values 8k..8k+7, truncating as the reference's cast does.
__m256i truncate_scaled(const float* x, __m256 id, __m256 bias, int k) {
  return _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id), bias));
}

// (int)((x - min) * id + 0.5f) for values 8k..8k+7.
__m256i truncate_offset(const float* x, __m256 min, __m256 id, int k) {
  const __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + 8 * k), min), id);
  return _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_set1_ps(0.5f)));
}

// The codes of a symmetric block: min(limit, (int)(x * id + bias)), 32 bytes in order.
__m256i symmetric_codes(const float* x, float id, float bias, int limit) {
  const __m256 vid = _mm256_set1_ps(id), vbias = _mm256_set1_ps(bias);
  const __m256i codes = pack_u8(truncate_scaled(x, vid, vbias, 0), truncate_scaled(x, vid, vbias, 1),
                                truncate_scaled(x, vid, vbias, 2), truncate_scaled(x, vid, vbias, 3));
  return _mm256_min_epu8(codes, _mm256_set1_epi8(static_cast<char>(limit)));
}

// The codes of an offset block: (int)((x - min) * id + 0.5f), 32 bytes in order.
__m256i offset_codes(const float* x, float min, float id) {
  const __m256 vmin = _mm256_set1_ps(min), vid = _mm256_set1_ps(id);
  return pack_u8(truncate_offset(x, vmin, vid, 0), truncate_offset(x, vmin, vid, 1),
                 truncate_offset(x, vmin, vid, 2), truncate_offset(x, vmin, vid, 3));
}

// Stores a block's codes: four-bit formats as nibbles, five-bit formats with their qh bits.
// A degenerate block arrives as all-zero codes, which gives the reference's zero bytes.
void store_codes(__m256i codes, BlockQ4_0& out) { store_nibbles(codes, out.qs); }
void store_codes(__m256i codes, BlockQ4_1& out) { store_nibbles(codes, out.qs); }
void store_codes(__m256i codes, BlockQ5_0& out) { store_five_bits(codes, out.qs, out.qh); }
void store_codes(__m256i codes, BlockQ5_1& out) { store_five_bits(codes, out.qs, out.qh); }

// Q4_0 / Q5_0: d = extreme / -half (the extreme maps to code 0, so d carries its sign), codes
// min(limit, (int)(x * id + half + 0.5)).
template <typename Block>
void quantize_row_symmetric(const float* x, void* vy, int64_t n, float half, int limit) {
  auto* y = static_cast<Block*>(vy);
  const int64_t nb = n / kBlockSize;
  for (int64_t b0 = 0; b0 < nb; b0 += kGroup, x += kGroup * kBlockSize) {
    const int count = static_cast<int>(min_i64(kGroup, nb - b0));
    const GroupScales s = group_scales(_mm256_div_ps(signed_absmax8(x, count), _mm256_set1_ps(-half)));
    for (int k = 0; k < count; ++k) {
      Block& out = y[b0 + k];
      out.d = s.d[k];
      store_codes((s.degenerate >> k & 1) ? _mm256_setzero_si256()
                                          : symmetric_codes(x + k * kBlockSize, s.id[k], half + 0.5f, limit),
                  out);
    }
  }
}

void quantize_row_q4_0_avx2(const float* x, void* y, int64_t n) { quantize_row_symmetric<BlockQ4_0>(x, y, n, 8.0f, 15); }
void quantize_row_q5_0_avx2(const float* x, void* y, int64_t n) { quantize_row_symmetric<BlockQ5_0>(x, y, n, 16.0f, 31); }

// The offset formats' scales for a group: d = (max - min) / levels, and the minima as floats
// (for the codes) and as the fp16 m the blocks store.
struct OffsetGroup {
  GroupScales s;
  alignas(32) float mins[kGroup];
  alignas(16) fp16_t m[kGroup];
};

OffsetGroup offset_group(const float* x, int count, float levels) {
  __m256 min, max;
  block_min_max8(x, count, &min, &max);
  OffsetGroup g;
  g.s = group_scales(_mm256_div_ps(_mm256_sub_ps(max, min), _mm256_set1_ps(levels)));
  _mm256_store_ps(g.mins, min);
  _mm_store_si128(reinterpret_cast<__m128i*>(g.m), _mm256_cvtps_ph(min, _MM_FROUND_TO_NEAREST_INT));
  return g;
}

// Q4_1 / Q5_1: codes (int)((x - min) * id + 0.5f), clamped to `limit` when clamp is set (Q4_1;
// the reference leaves Q5_1's unclamped, and bits above 4 are dropped when stored).
template <typename Block>
void quantize_row_offset(const float* x, void* vy, int64_t n, float levels, bool clamp) {
  auto* y = static_cast<Block*>(vy);
  const int64_t nb = n / kBlockSize;
  const __m256i limit = _mm256_set1_epi8(static_cast<char>(levels));
  for (int64_t b0 = 0; b0 < nb; b0 += kGroup, x += kGroup * kBlockSize) {
    const int count = static_cast<int>(min_i64(kGroup, nb - b0));
    const OffsetGroup g = offset_group(x, count, levels);
    for (int k = 0; k < count; ++k) {
      Block& out = y[b0 + k];
      out.d = g.s.d[k];
      out.m = g.m[k];
      __m256i codes = _mm256_setzero_si256();
      if (!(g.s.degenerate >> k & 1)) {
        codes = offset_codes(x + k * kBlockSize, g.mins[k], g.s.id[k]);
        if (clamp) codes = _mm256_min_epu8(codes, limit);
      }
      store_codes(codes, out);
    }
  }
}

void quantize_row_q4_1_avx2(const float* x, void* y, int64_t n) { quantize_row_offset<BlockQ4_1>(x, y, n, 15.0f, true); }
void quantize_row_q5_1_avx2(const float* x, void* y, int64_t n) { quantize_row_offset<BlockQ5_1>(x, y, n, 31.0f, false); }

// roundf (half away from zero) of x * id for 8 values. Adding 0.5 - 2^-25 with the value's sign
// and truncating is exact for every float below 2^31 in magnitude (checked exhaustively):
// adding 0.5 itself would round values just below a half up, and _mm256_round_ps would round
// halves to even.
__m256i round_scaled(const float* x, __m256 id, int k) {
  const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id);
  // blendv selects by the sign bit of v.
  const __m256 half = _mm256_blendv_ps(_mm256_set1_ps(0.49999997f), _mm256_set1_ps(-0.49999997f), v);
  return _mm256_cvttps_epi32(_mm256_add_ps(v, half));
}

// The q8 formats: d = max|x| / 127, codes roundf(x * id). Block k's codes also go to
// sums[k] as eight partial sums when sums is not null. Returns the blocks' d.
template <typename Block>
__m256 quantize_group_q8(const float* x, int count, Block* y, __m256i* sums) {
  const __m256 d = _mm256_div_ps(absmax8(x, count), _mm256_set1_ps(127.0f));
  const GroupScales s = group_scales(d);
  for (int k = 0; k < count; ++k) {
    Block& out = y[k];
    out.d = s.d[k];
    if (s.degenerate >> k & 1) {
      std::memset(out.qs, 0, sizeof out.qs);
      if (sums != nullptr) sums[k] = _mm256_setzero_si256();
      continue;
    }
    const float* p = x + k * kBlockSize;
    const __m256 id = _mm256_set1_ps(s.id[k]);
    const __m256i c0 = round_scaled(p, id, 0), c1 = round_scaled(p, id, 1);
    const __m256i c2 = round_scaled(p, id, 2), c3 = round_scaled(p, id, 3);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.qs), pack_i8(c0, c1, c2, c3));
    if (sums != nullptr) sums[k] = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
  }
  return d;
}

void quantize_row_q8_0_avx2(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(vy);
  const int64_t nb = n / kBlockSize;
  for (int64_t b0 = 0; b0 < nb; b0 += kGroup) {
    const int count = static_cast<int>(min_i64(kGroup, nb - b0));
    quantize_group_q8(x + b0 * kBlockSize, count, y + b0, static_cast<__m256i*>(nullptr));
  }
}

void quantize_row_q8_1_avx2(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(vy);
  const int64_t nb = n / kBlockSize;
  for (int64_t b0 = 0; b0 < nb; b0 += kGroup) {
    const int count = static_cast<int>(min_i64(kGroup, nb - b0));
    __m256i sums[kGroup];
    for (int k = count; k < kGroup; ++k) sums[k] = _mm256_setzero_si256();
    const __m256 d = quantize_group_q8(x + b0 * kBlockSize, count, y + b0, sums);
    // s = fp16((float)sum * d) with the unrounded float d, as the reference.
    const __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(fold8_add_epi32(sums)), d);
    alignas(16) fp16_t s_half[kGroup];
    _mm_store_si128(reinterpret_cast<__m128i*>(s_half), _mm256_cvtps_ph(s, _MM_FROUND_TO_NEAREST_INT));
    for (int k = 0; k < count; ++k) y[b0 + k].s = s_half[k];
  }
}

// --- Dequantize -------------------------------------------------------------------------------

// (float)code * d for 32 signed byte codes in order.
void store_scaled(__m256i codes, __m256 d, float* y) {
  const __m128i lo = _mm256_castsi256_si128(codes);
  const __m128i hi = _mm256_extracti128_si256(codes, 1);
  const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
  for (int k = 0; k < 4; ++k) {
    const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k]));
    _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(v, d));
  }
}

// (float)code * d + m for 32 byte codes in order: a rounded product, then a rounded sum.
void store_scaled_offset(__m256i codes, __m256 d, __m256 m, float* y) {
  const __m128i lo = _mm256_castsi256_si128(codes);
  const __m128i hi = _mm256_extracti128_si256(codes, 1);
  const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
  for (int k = 0; k < 4; ++k) {
    const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k]));
    _mm256_storeu_ps(y + 8 * k, _mm256_add_ps(_mm256_mul_ps(v, d), m));
  }
}

// The 32 four-bit codes of qs in value order: low nibbles, then high nibbles. Both halves
// of the ymm load the same 16 bytes; the high half is shifted by 4 (per 64-bit lane).
__m256i unpack_nibbles(const uint8_t* qs) {
  const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  const __m256i shifted = _mm256_srlv_epi64(both, _mm256_setr_epi64x(0, 0, 4, 4));
  return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f));
}

// Byte j is 0xff when bit j of the qh bytes is set.
__m256i expand_bits(const uint8_t* qh_bytes) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, sizeof qh);
  // Bytes 0-7 take qh's byte 0, 8-15 byte 1, and so on (each 128-bit half holds all of qh).
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3,
                       3, 3));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// Five-bit codes 0..31 of a q5 block in value order.
__m256i unpack_five_bits(const uint8_t* qs, const uint8_t* qh) {
  return _mm256_or_si256(unpack_nibbles(qs), _mm256_and_si256(expand_bits(qh), _mm256_set1_epi8(0x10)));
}

void dequantize_row_q4_0_avx2(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const __m256i q = _mm256_sub_epi8(unpack_nibbles(x[b].qs), _mm256_set1_epi8(8));
    store_scaled(q, broadcast_half(x[b].d), y);
  }
}

void dequantize_row_q4_1_avx2(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    store_scaled_offset(unpack_nibbles(x[b].qs), broadcast_half(x[b].d), broadcast_half(x[b].m), y);
  }
}

void dequantize_row_q5_0_avx2(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const __m256i q = _mm256_sub_epi8(unpack_five_bits(x[b].qs, x[b].qh), _mm256_set1_epi8(16));
    store_scaled(q, broadcast_half(x[b].d), y);
  }
}

void dequantize_row_q5_1_avx2(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    store_scaled_offset(unpack_five_bits(x[b].qs, x[b].qh), broadcast_half(x[b].d), broadcast_half(x[b].m), y);
  }
}

template <typename Block>
void dequantize_row_q8(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const Block*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const __m256 d = broadcast_half(x[b].d);
    for (int k = 0; k < 4; ++k) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x[b].qs + 8 * k));
      _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
    }
  }
}

void dequantize_row_q8_0_avx2(const void* x, float* y, int64_t n) { dequantize_row_q8<BlockQ8_0>(x, y, n); }
void dequantize_row_q8_1_avx2(const void* x, float* y, int64_t n) { dequantize_row_q8<BlockQ8_1>(x, y, n); }

// --- f16 / bf16 rows --------------------------------------------------------------------------

void quantize_row_f16_avx2(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<fp16_t*>(vy);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i h0 = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    const __m128i h1 = _mm256_cvtps_ph(_mm256_loadu_ps(x + i + 8), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm256_set_m128i(h1, h0));
  }
  ref::quantize_row_f16(x + i, y + i, n - i);
}

void dequantize_row_f16_avx2(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const fp16_t*>(vx);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
    _mm256_storeu_ps(y + i + 8, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i + 8))));
  }
  ref::dequantize_row_f16(x + i, y + i, n - i);
}

// float_to_bf16 for 8 values: (u + 0x7fff + lsb) >> 16, rounding to nearest even on the bit
// pattern; a NaN keeps its top bits with the quiet bit set. Results in the low 16 bits of each
// lane. Written with one shift (shifts have the fewest ports): + 0x7fff + lsb is + 0x8000 - 1
// when the lsb is 0.
__m256i bf16_bits(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb_clear = _mm256_cmpeq_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x10000)),
                                               _mm256_setzero_si256());
  const __m256i rounded = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x8000)), lsb_clear);
  const __m256i quiet = _mm256_or_si256(u, _mm256_set1_epi32(0x400000));
  const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  return _mm256_srli_epi32(_mm256_blendv_epi8(rounded, quiet, _mm256_castps_si256(nan)), 16);
}

void quantize_row_bf16_avx2(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<bf16_t*>(vy);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i lo = bf16_bits(_mm256_loadu_ps(x + i));
    const __m256i hi = bf16_bits(_mm256_loadu_ps(x + i + 8));
    // packus works per 128-bit half: values 0-3, 8-11, 4-7, 12-15 in 64-bit quarters.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), packed);
  }
  ref::quantize_row_bf16(x + i, y + i, n - i);
}

__m256 bf16x8_to_ps(const bf16_t* x) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

void dequantize_row_bf16_avx2(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const bf16_t*>(vx);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(y + i, bf16x8_to_ps(x + i));
    _mm256_storeu_ps(y + i + 8, bf16x8_to_ps(x + i + 8));
  }
  ref::dequantize_row_bf16(x + i, y + i, n - i);
}

// --- Float dots -------------------------------------------------------------------------------
//
// Element i is fused into lane i % 32: four ymm accumulators hold lanes 0-7, 8-15, 16-23 and
// 24-31. The reference finishes the tail and folds the lanes.

__m256 f32x8_to_ps(const float* x) { return _mm256_loadu_ps(x); }
__m256 f16x8_to_ps(const fp16_t* x) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))); }

// Load widens eight x values; Finish is ref::finish_dot_* for x's type.
template <typename T, __m256 (*Load)(const T*),
          float (*Finish)(const T*, const float*, int64_t, int64_t, float*)>
float float_dot(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const T*>(vx);
  const auto* y = static_cast<const float*>(vy);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(Load(x + i + 8 * k), _mm256_loadu_ps(y + i + 8 * k), acc[k]);
  }
  alignas(32) float lanes[ref::kFloatLanes];
  for (int k = 0; k < 4; ++k) _mm256_store_ps(lanes + 8 * k, acc[k]);
  return Finish(x, y, i, n, lanes);
}

constexpr VecDotFn vec_dot_f32_f32_avx2 = float_dot<float, f32x8_to_ps, ref::finish_dot_f32>;
constexpr VecDotFn vec_dot_f16_f32_avx2 = float_dot<fp16_t, f16x8_to_ps, ref::finish_dot_f16>;
constexpr VecDotFn vec_dot_bf16_f32_avx2 = float_dot<bf16_t, bf16x8_to_ps, ref::finish_dot_bf16>;

// --- Block dots -------------------------------------------------------------------------------
//
// Eight blocks per iteration: eight exact int32 block sums, converted together, each turned
// into the float term block_term_* computes (same operands, same roundings). Block b's term
// goes to lane b % 4 of one __m128: blocks b..b+3 first, then b+4..b+7, as the reference adds
// them. Up to seven tail blocks use the reference's block terms; the lanes then fold as
// ref::reduce_block_lanes folds them.

// Lane k of the result is the sum of the sixteen int16 lanes of p[k], for partials whose sums
// over any four lanes stay within int16: two rounds of hadd in int16, then one madd to int32.
__m256i fold8_add_epi16(const __m256i p[kGroup]) {
  // Per 128-bit half: hadd(p0, p1) = [p0 x4, p1 x4], then b0 = [p0 x2, p1 x2, p2 x2, p3 x2].
  const __m256i b0 = _mm256_hadd_epi16(_mm256_hadd_epi16(p[0], p[1]), _mm256_hadd_epi16(p[2], p[3]));
  const __m256i b1 = _mm256_hadd_epi16(_mm256_hadd_epi16(p[4], p[5]), _mm256_hadd_epi16(p[6], p[7]));
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i c0 = _mm256_madd_epi16(b0, ones), c1 = _mm256_madd_epi16(b1, ones);
  return _mm256_add_epi32(_mm256_permute2x128_si256(c0, c1, 0x20), _mm256_permute2x128_si256(c0, c1, 0x31));
}

// Dot supplies X and Y (block types) and fold(p[8]) (the eight blocks' exact sums); the float
// terms are x86_blocks.h's block_terms and ref_term. The loop computes the dots of x with C
// rows y[0..C) side by side (independent chains for the out-of-order core); partial(c, b)
// gives block pair b's integer sum with row c as a vector of partial sums, scales(b, count)
// the x scales of blocks b..b+count. kStream: x comes from memory once (vec_dot), so it is
// prefetched; the batched dots read it from cache.
template <typename Dot, int C, bool kStream, typename Partial, typename Scales>
void block_dot_loop(int64_t nb, const typename Dot::X* x, const typename Dot::Y* const* y, Partial partial,
                    Scales scales, float* out) {
  __m128 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    if constexpr (kStream) prefetch_ahead(x + b, 8 * sizeof(typename Dot::X));
    const XScales xs = scales(b, 8);
    for (int c = 0; c < C; ++c) {
      __m256i p[kGroup];
      for (int k = 0; k < 8; ++k) p[k] = partial(c, b + k);
      acc[c] = add_terms8(acc[c], block_terms(xs, y[c] + b, 8, Dot::fold(p)));
    }
  }
  const bool four = b + 4 <= nb;
  for (int c = 0; c < C; ++c) {
    int64_t e = b;
    if (four) {
      __m256i p[kGroup];
      for (int k = 0; k < 4; ++k) p[k] = partial(c, e + k);
      for (int k = 4; k < 8; ++k) p[k] = _mm256_setzero_si256();
      acc[c] = _mm_add_ps(acc[c], _mm256_castps256_ps128(block_terms(scales(e, 4), y[c] + e, 4, Dot::fold(p))));
      e += 4;
    }
    out[c] = finish_block_dot(acc[c], x, y[c], e, nb);
  }
}

template <typename Dot>
float block_dot(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const typename Dot::X*>(vx);
  const auto* y = static_cast<const typename Dot::Y*>(vy);
  float out;
  block_dot_loop<Dot, 1, true>(
      n / kBlockSize, x, &y, [&](int, int64_t b) { return Dot::partial(x[b], y[b]); },
      [&](int64_t b, int count) { return x_scales(x + b, count); }, &out);
  return out;
}

// Widened scales of blocks b..b+count (count 4 or 8) from a float array; lanes past count are 0.
__m256 load_scales(const float* v, int64_t b, int count) {
  return count == 8 ? _mm256_loadu_ps(v + b) : _mm256_insertf128_ps(_mm256_setzero_ps(), _mm_loadu_ps(v + b), 0);
}

// The batched dots (VecDotBatchFn): x is unpacked once into scratch (Dot::unpack writes two
// code vectors per block; the scales are widened to floats), then each block pair costs what
// Dot::batch_partial costs and no scale of x is converted again.
template <typename Dot>
void block_dot_batch(int64_t n, const void* vx, const void* vy, size_t y_stride, int64_t ny, float* out,
                     int64_t out_stride, void* scratch) {
  using X = typename Dot::X;
  const auto* x = static_cast<const X*>(vx);
  const int64_t nb = n / kBlockSize;
  auto* codes = static_cast<__m256i*>(scratch);
  auto* d = reinterpret_cast<float*>(codes + 2 * nb);
  float* m = d + nb;
  for (int64_t b = 0; b < nb; ++b) {
    Dot::unpack(x[b], codes + 2 * b);
    d[b] = half_to_float(x[b].d);
    if constexpr (requires { &X::m; }) m[b] = half_to_float(x[b].m);
  }
  auto scales = [&](int64_t b, int count) -> XScales {
    if constexpr (requires { &X::m; }) return {load_scales(d, b, count), load_scales(m, b, count)};
    return {load_scales(d, b, count), _mm256_setzero_ps()};
  };
  // Rows of y two at a time, then the odd one.
  auto dots = [&]<int C>(int64_t j) {
    const typename Dot::Y* y[C];
    for (int c = 0; c < C; ++c) {
      y[c] = reinterpret_cast<const typename Dot::Y*>(static_cast<const uint8_t*>(vy) + (j + c) * y_stride);
    }
    float r[C];
    block_dot_loop<Dot, C, false>(
        nb, x, y, [&](int c, int64_t b) { return Dot::batch_partial(codes + 2 * b, y[c][b].qs); }, scales, r);
    for (int c = 0; c < C; ++c) out[(j + c) * out_stride] = r[c];
  };
  int64_t j = 0;
  for (; j + 2 <= ny; j += 2) dots.template operator()<2>(j);
  if (j < ny) dots.template operator()<1>(j);
}

__m256i load_i8x32(const int8_t* y) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y)); }

// Batched signed formats: c[0] = |s| and c[1] = s for the signed codes s of x; sign(y, s) moves
// s's sign onto y, so maddubs(|s|, sign(y, s)) gives pairs of s * y. Exact because y has no
// -128 code (the batch precondition), whose negation would wrap.
void unpack_signed(__m256i s, __m256i* c) {
  c[0] = _mm256_abs_epi8(s);
  c[1] = s;
}
__m256i signed_pairs(const __m256i* c, const int8_t* y) {
  return _mm256_maddubs_epi16(c[0], _mm256_sign_epi8(load_i8x32(y), c[1]));
}

// The 4- and 5-bit formats keep int16 pair sums (maddubs: unsigned codes times int8); any four
// pairs (eight products) stay within int16 for codes up to 31, so fold8_add_epi16 applies.
// In vec_dot the zero point is applied as a second maddubs on y, not with the abs/sign trick,
// which overflows for a -128 code in y: every vec_dot sum is exact for any bytes. The batched
// dots use the sign trick under their precondition (no -128 in y).

struct DotQ4_0 {
  using X = BlockQ4_0;
  using Y = BlockQ8_0;
  // Pairs of (q - 8) * y.
  static __m256i partial(const X& x, const Y& y) {
    const __m256i v = load_i8x32(y.qs);
    return _mm256_sub_epi16(_mm256_maddubs_epi16(unpack_nibbles(x.qs), v),
                            _mm256_maddubs_epi16(_mm256_set1_epi8(8), v));
  }
  static __m256i fold(const __m256i p[kGroup]) { return fold8_add_epi16(p); }
  static void unpack(const X& x, __m256i* c) { unpack_signed(_mm256_sub_epi8(unpack_nibbles(x.qs), _mm256_set1_epi8(8)), c); }
  static __m256i batch_partial(const __m256i* c, const int8_t* y) { return signed_pairs(c, y); }
};

struct DotQ5_0 {
  using X = BlockQ5_0;
  using Y = BlockQ8_0;
  // Pairs of (q - 16) * y, with q = low + 16 * high: low * y, minus 16 * y where high is 0.
  static __m256i partial(const X& x, const Y& y) {
    const __m256i v = load_i8x32(y.qs);
    const __m256i v_high_clear = _mm256_andnot_si256(expand_bits(x.qh), v);
    return _mm256_sub_epi16(_mm256_maddubs_epi16(unpack_nibbles(x.qs), v),
                            _mm256_maddubs_epi16(_mm256_set1_epi8(16), v_high_clear));
  }
  static __m256i fold(const __m256i p[kGroup]) { return fold8_add_epi16(p); }
  static void unpack(const X& x, __m256i* c) {
    unpack_signed(_mm256_sub_epi8(unpack_five_bits(x.qs, x.qh), _mm256_set1_epi8(16)), c);
  }
  static __m256i batch_partial(const __m256i* c, const int8_t* y) { return signed_pairs(c, y); }
};

struct DotQ4_1 {
  using X = BlockQ4_1;
  using Y = BlockQ8_1;
  static __m256i partial(const X& x, const Y& y) {
    return _mm256_maddubs_epi16(unpack_nibbles(x.qs), load_i8x32(y.qs));
  }
  static __m256i fold(const __m256i p[kGroup]) { return fold8_add_epi16(p); }
  static void unpack(const X& x, __m256i* c) { c[0] = unpack_nibbles(x.qs); }
  static __m256i batch_partial(const __m256i* c, const int8_t* y) { return _mm256_maddubs_epi16(c[0], load_i8x32(y)); }
};

struct DotQ5_1 {
  using X = BlockQ5_1;
  using Y = BlockQ8_1;
  static __m256i partial(const X& x, const Y& y) {
    return _mm256_maddubs_epi16(unpack_five_bits(x.qs, x.qh), load_i8x32(y.qs));
  }
  static __m256i fold(const __m256i p[kGroup]) { return fold8_add_epi16(p); }
  static void unpack(const X& x, __m256i* c) { c[0] = unpack_five_bits(x.qs, x.qh); }
  static __m256i batch_partial(const __m256i* c, const int8_t* y) { return _mm256_maddubs_epi16(c[0], load_i8x32(y)); }
};

struct DotQ8_0 {
  using X = BlockQ8_0;
  using Y = BlockQ8_0;
  // Sign-extended to int16 and multiplied with madd into int32: exact for any bytes, where
  // maddubs would need the abs/sign trick.
  static __m256i partial(const X& x, const Y& y) {
    const auto* xq = reinterpret_cast<const __m128i*>(x.qs);
    const auto* yq = reinterpret_cast<const __m128i*>(y.qs);
    const __m256i lo = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(xq)),
                                         _mm256_cvtepi8_epi16(_mm_loadu_si128(yq)));
    const __m256i hi = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(xq + 1)),
                                         _mm256_cvtepi8_epi16(_mm_loadu_si128(yq + 1)));
    return _mm256_add_epi32(lo, hi);
  }
  static __m256i fold(const __m256i p[kGroup]) { return fold8_add_epi32(p); }
  static void unpack(const X& x, __m256i* c) { unpack_signed(load_i8x32(x.qs), c); }
  // Pairs of s * y reach 2 * 128 * 127, so they are widened to int32 before folding.
  static __m256i batch_partial(const __m256i* c, const int8_t* y) {
    return _mm256_madd_epi16(signed_pairs(c, y), _mm256_set1_epi16(1));
  }
};

template <typename Dot>
FormatKernels block_kernels(QuantizeRowFn quantize, DequantizeRowFn dequantize) {
  return {quantize, dequantize, block_dot<Dot>, block_dot_batch<Dot>};
}

}  // namespace

void fill_avx2_table(KernelTable* t) {
  (*t)[Format::kF16] = {quantize_row_f16_avx2, dequantize_row_f16_avx2, vec_dot_f16_f32_avx2};
  (*t)[Format::kBF16] = {quantize_row_bf16_avx2, dequantize_row_bf16_avx2, vec_dot_bf16_f32_avx2};
  (*t)[Format::kF32].vec_dot = vec_dot_f32_f32_avx2;
  (*t)[Format::kQ4_0] = block_kernels<DotQ4_0>(quantize_row_q4_0_avx2, dequantize_row_q4_0_avx2);
  (*t)[Format::kQ4_1] = block_kernels<DotQ4_1>(quantize_row_q4_1_avx2, dequantize_row_q4_1_avx2);
  (*t)[Format::kQ5_0] = block_kernels<DotQ5_0>(quantize_row_q5_0_avx2, dequantize_row_q5_0_avx2);
  (*t)[Format::kQ5_1] = block_kernels<DotQ5_1>(quantize_row_q5_1_avx2, dequantize_row_q5_1_avx2);
  (*t)[Format::kQ8_0] = block_kernels<DotQ8_0>(quantize_row_q8_0_avx2, dequantize_row_q8_0_avx2);
  (*t)[Format::kQ8_1] = {quantize_row_q8_1_avx2, dequantize_row_q8_1_avx2, nullptr};
}

}  // namespace quantd::kernels
