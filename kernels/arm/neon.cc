// NEON (Armv8-A Advanced SIMD) kernels, compiled with -march=armv8-a.
//
// Every function gives the reference's bytes and floats (kernels/internal/reference.h): the
// same scale selection and rounding per value, and the reference's fixed summation order.
// Only intrinsics, static functions and ref:: calls here (see neon_blocks.h for why).
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "arm/neon_blocks.h"
#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {
namespace {

// --- Scalar fp16 through the vector unit ----------------------------------------------------
//
// FCVT rounds to nearest even, keeps subnormals, overflows to infinity and quiets NaNs with
// the payload truncated, exactly as float_to_fp16 / fp16_to_float (Linux runs with FPCR = 0).

fp16_t to_half(float f) {
  return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(f))), 0);
}

float from_half(fp16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

// --- Integer dot kernels without SDOT -------------------------------------------------------

struct MullDot {
  // |x| <= 32, |y| <= 128: two products per int16 lane add up to at most 2^13.
  static int32x4_t small(int8x16_t x0, int8x16_t y0, int8x16_t x1, int8x16_t y1) {
    const int16x8_t p0 = vmlal_high_s8(vmull_s8(vget_low_s8(x0), vget_low_s8(y0)), x0, y0);
    const int16x8_t p1 = vmlal_high_s8(vmull_s8(vget_low_s8(x1), vget_low_s8(y1)), x1, y1);
    return vpadalq_s16(vpaddlq_s16(p0), p1);
  }
  // Any int8: one product (at most 2^14) per int16 lane, widened before adding.
  static int32x4_t full(int8x16_t x0, int8x16_t y0, int8x16_t x1, int8x16_t y1) {
    int32x4_t s = vpaddlq_s16(vmull_s8(vget_low_s8(x0), vget_low_s8(y0)));
    s = vpadalq_s16(s, vmull_high_s8(x0, y0));
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(x1), vget_low_s8(y1)));
    return vpadalq_s16(s, vmull_high_s8(x1, y1));
  }
};


// --- Block statistics -----------------------------------------------------------------------

struct Block32 {
  float32x4_t v[8];
};

Block32 load_block(const float* x) {
  Block32 b;
  for (int k = 0; k < 8; ++k) b.v[k] = vld1q_f32(x + 4 * k);
  return b;
}

// Index of the first lane where mask is set, 32 when none is.
uint32_t first_set(const uint32x4_t mask[8]) {
  static const uint32_t kIota[4] = {0, 1, 2, 3};
  const uint32x4_t iota = vld1q_u32(kIota);
  uint32x4_t best = vdupq_n_u32(kBlockSize);
  for (int k = 0; k < 8; ++k) {
    best = vminq_u32(best, vbslq_u32(mask[k], vaddq_u32(iota, vdupq_n_u32(4 * k)), vdupq_n_u32(kBlockSize)));
  }
  return vminvq_u32(best);
}

// ref::signed_absmax: the first value of largest magnitude, +0 when all are zero. Only when
// both +a and -a occur does "first" matter, and only then is the index searched.
float signed_absmax(const float* x, const Block32& b) {
  float32x4_t lo = b.v[0], hi = b.v[0];
  for (int k = 1; k < 8; ++k) {
    lo = vminq_f32(lo, b.v[k]);
    hi = vmaxq_f32(hi, b.v[k]);
  }
  const float min = vminvq_f32(lo), max = vmaxvq_f32(hi);
  if (max > -min) return max;
  if (-min > max) return min;
  if (!(max > 0.0f)) return 0.0f;  // all zero (a NaN input gives unspecified codes anyway)
  uint32x4_t hit[8];
  for (int k = 0; k < 8; ++k) hit[k] = vceqq_f32(vabsq_f32(b.v[k]), vdupq_n_f32(max));
  const uint32_t j = first_set(hit);
  return j < kBlockSize ? x[j] : max;
}

// ref::block_min_max: the first minimum and maximum in index order. That only matters for a
// zero extreme: FMIN orders -0 below +0 where the reference's < keeps the first zero.
void block_min_max(const float* x, const Block32& b, float* min, float* max) {
  float32x4_t lo = b.v[0], hi = b.v[0];
  for (int k = 1; k < 8; ++k) {
    lo = vminq_f32(lo, b.v[k]);
    hi = vmaxq_f32(hi, b.v[k]);
  }
  *min = vminvq_f32(lo);
  *max = vmaxvq_f32(hi);
  if (*min == 0.0f || *max == 0.0f) {
    uint32x4_t zero[8];
    for (int k = 0; k < 8; ++k) zero[k] = vceqzq_f32(b.v[k]);
    const uint32_t j = first_set(zero);
    if (j < kBlockSize) {
      if (*min == 0.0f) *min = x[j];
      if (*max == 0.0f) *max = x[j];
    }
  }
}

// --- Quantization ---------------------------------------------------------------------------

// 16 int32 codes (four vectors) narrowed to bytes; the codes fit, so narrowing only truncates.
uint8x16_t narrow_codes(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t ab = vmovn_high_s32(vmovn_s32(a), b);
  const int16x8_t cd = vmovn_high_s32(vmovn_s32(c), d);
  return vreinterpretq_u8_s8(vmovn_high_s16(vmovn_s16(ab), cd));
}

// The 32 codes of a block: min(max_code, (int)(x * id + bias)) for the signed formats,
// min(max_code, (int)((x - min) * id + bias)) for the offset ones (kSubMin). Each operation is
// rounded on its own and the conversion truncates, as the reference's static_cast<int>.
template <bool kSubMin>
void codes32(const Block32& b, float min, float id, float bias, int32_t max_code, uint8x16_t* lo, uint8x16_t* hi) {
  int32x4_t c[8];
  for (int k = 0; k < 8; ++k) {
    const float32x4_t v = kSubMin ? vsubq_f32(b.v[k], vdupq_n_f32(min)) : b.v[k];
    const float32x4_t t = vaddq_f32(vmulq_f32(v, vdupq_n_f32(id)), vdupq_n_f32(bias));
    c[k] = vminq_s32(vcvtq_s32_f32(t), vdupq_n_s32(max_code));
  }
  *lo = narrow_codes(c[0], c[1], c[2], c[3]);
  *hi = narrow_codes(c[4], c[5], c[6], c[7]);
}

uint8x16_t pack_nibbles(uint8x16_t lo, uint8x16_t hi) {
  return vorrq_u8(vandq_u8(lo, vdupq_n_u8(0x0f)), vshlq_n_u8(hi, 4));
}

// Bit 4 of each of 32 codes gathered into bit j of qh (the inverse of unpack_high_bits).
void pack_high_bits(uint8x16_t lo, uint8x16_t hi, uint8_t* qh_bytes) {
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bit = vld1q_u8(kBit);
  const uint8x16_t l = vandq_u8(vtstq_u8(lo, vdupq_n_u8(0x10)), bit);
  const uint8x16_t h = vandq_u8(vtstq_u8(hi, vdupq_n_u8(0x10)), bit);
  // Pairwise adds of distinct bits: after three rounds byte k holds qh byte k.
  uint8x16_t s = vpaddq_u8(l, h);
  s = vpaddq_u8(s, s);
  s = vpaddq_u8(s, s);
  const uint32_t qh = vgetq_lane_u32(vreinterpretq_u32_u8(s), 0);
  std::memcpy(qh_bytes, &qh, sizeof qh);
}

// The scale of a signed format: the extreme value maps to code 0.
ref::BlockScale signed_scale(const float* x, const Block32& b, float code_of_extreme) {
  return ref::block_scale(signed_absmax(x, b) / code_of_extreme);
}

void quantize_row_q4_0_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(vy);
  for (int64_t i = 0; i < n / kBlockSize; ++i, x += kBlockSize) {
    const Block32 b = load_block(x);
    const ref::BlockScale s = signed_scale(x, b, -8.0f);
    y[i].d = to_half(s.d);
    uint8x16_t lo = vdupq_n_u8(0), hi = vdupq_n_u8(0);
    if (!s.degenerate) codes32<false>(b, 0.0f, s.id, 8.5f, 15, &lo, &hi);
    vst1q_u8(y[i].qs, pack_nibbles(lo, hi));
  }
}

void quantize_row_q4_1_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4_1*>(vy);
  for (int64_t i = 0; i < n / kBlockSize; ++i, x += kBlockSize) {
    const Block32 b = load_block(x);
    float min, max;
    block_min_max(x, b, &min, &max);
    const ref::BlockScale s = ref::block_scale((max - min) / 15.0f);
    y[i].d = to_half(s.d);
    y[i].m = to_half(min);
    uint8x16_t lo = vdupq_n_u8(0), hi = vdupq_n_u8(0);
    if (!s.degenerate) codes32<true>(b, min, s.id, 0.5f, 15, &lo, &hi);
    vst1q_u8(y[i].qs, pack_nibbles(lo, hi));
  }
}

void quantize_row_q5_0_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5_0*>(vy);
  for (int64_t i = 0; i < n / kBlockSize; ++i, x += kBlockSize) {
    const Block32 b = load_block(x);
    const ref::BlockScale s = signed_scale(x, b, -16.0f);
    y[i].d = to_half(s.d);
    uint8x16_t lo = vdupq_n_u8(0), hi = vdupq_n_u8(0);
    if (!s.degenerate) codes32<false>(b, 0.0f, s.id, 16.5f, 31, &lo, &hi);
    vst1q_u8(y[i].qs, pack_nibbles(lo, hi));
    pack_high_bits(lo, hi, y[i].qh);
  }
}

void quantize_row_q5_1_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5_1*>(vy);
  for (int64_t i = 0; i < n / kBlockSize; ++i, x += kBlockSize) {
    const Block32 b = load_block(x);
    float min, max;
    block_min_max(x, b, &min, &max);
    const ref::BlockScale s = ref::block_scale((max - min) / 31.0f);
    y[i].d = to_half(s.d);
    y[i].m = to_half(min);
    uint8x16_t lo = vdupq_n_u8(0), hi = vdupq_n_u8(0);
    // No clamp, as the reference: the largest code is 31 (a 32 would lose bit 5 there too).
    if (!s.degenerate) codes32<true>(b, min, s.id, 0.5f, INT32_MAX, &lo, &hi);
    vst1q_u8(y[i].qs, pack_nibbles(lo, hi));
    pack_high_bits(lo, hi, y[i].qh);
  }
}

// roundf(x * id) for 32 values: FCVTAS rounds half away from zero, as roundf. Returns the
// sum of the codes (what Q8_1 stores, scaled, in s).
int32_t quantize_codes_q8(const Block32& b, const ref::BlockScale& s, int8_t* qs) {
  if (s.degenerate) {
    std::memset(qs, 0, kBlockSize);
    return 0;
  }
  const float32x4_t id = vdupq_n_f32(s.id);
  int32_t sum = 0;
  for (int half = 0; half < 2; ++half) {
    int32x4_t c[4];
    for (int k = 0; k < 4; ++k) c[k] = vcvtaq_s32_f32(vmulq_f32(b.v[4 * half + k], id));
    const int8x16_t q = vreinterpretq_s8_u8(narrow_codes(c[0], c[1], c[2], c[3]));
    vst1q_s8(qs + 16 * half, q);
    sum += vaddlvq_s8(q);
  }
  return sum;
}

ref::BlockScale scale_q8(const Block32& b) {
  float32x4_t m = vabsq_f32(b.v[0]);
  for (int k = 1; k < 8; ++k) m = vmaxq_f32(m, vabsq_f32(b.v[k]));
  return ref::block_scale(vmaxvq_f32(m) / 127.0f);
}

void quantize_row_q8_0_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t i = 0; i < n / kBlockSize; ++i, x += kBlockSize) {
    const Block32 b = load_block(x);
    const ref::BlockScale s = scale_q8(b);
    y[i].d = to_half(s.d);
    quantize_codes_q8(b, s, y[i].qs);
  }
}

void quantize_row_q8_1_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(vy);
  for (int64_t i = 0; i < n / kBlockSize; ++i, x += kBlockSize) {
    const Block32 b = load_block(x);
    const ref::BlockScale s = scale_q8(b);
    y[i].d = to_half(s.d);
    const int32_t sum = quantize_codes_q8(b, s, y[i].qs);
    y[i].s = to_half(static_cast<float>(sum) * s.d);
  }
}

// --- Dequantization -------------------------------------------------------------------------

// y[0..16) = (float)q * d + m, one rounding per operation (add_m false: no + m at all).
template <bool kAddM>
void store_scaled(int8x16_t q, float32x4_t d, float32x4_t m, float* y) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(q));
  const int16x8_t hi = vmovl_high_s8(q);
  const int32x4_t w[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_high_s16(lo), vmovl_s16(vget_low_s16(hi)),
                          vmovl_high_s16(hi)};
  for (int k = 0; k < 4; ++k) {
    float32x4_t v = vmulq_f32(vcvtq_f32_s32(w[k]), d);
    if constexpr (kAddM) v = vaddq_f32(v, m);
    vst1q_f32(y + 4 * k, v);
  }
}

// The 4- and 5-bit formats: (float)code * d, + m for the offset formats, with the codes as
// neon_blocks.h's Codes unpacks them for the dot products (zero point already subtracted).
template <typename Codes>
void dequantize_row_blocks(const void* vx, float* y, int64_t n) {
  using X = typename Codes::X;
  const auto* x = static_cast<const X*>(vx);
  for (int64_t i = 0; i < n / kBlockSize; ++i, y += kBlockSize) {
    const float32x4_t d = vdupq_n_f32(from_half(x[i].d));
    int8x16_t lo, hi;
    Codes::codes(x[i], &lo, &hi);
    if constexpr (requires { &X::m; }) {
      const float32x4_t m = vdupq_n_f32(from_half(x[i].m));
      store_scaled<true>(lo, d, m, y);
      store_scaled<true>(hi, d, m, y + 16);
    } else {
      store_scaled<false>(lo, d, d, y);
      store_scaled<false>(hi, d, d, y + 16);
    }
  }
}

// Q8_0 and Q8_1 share the layout of d and qs; Q8_1's s plays no part in dequantization.
template <typename Block>
void dequantize_row_q8(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const Block*>(vx);
  for (int64_t i = 0; i < n / kBlockSize; ++i, y += kBlockSize) {
    const float32x4_t d = vdupq_n_f32(from_half(x[i].d));
    store_scaled<false>(vld1q_s8(x[i].qs), d, d, y);
    store_scaled<false>(vld1q_s8(x[i].qs + 16), d, d, y + 16);
  }
}

void dequantize_row_q8_0_neon(const void* x, float* y, int64_t n) { dequantize_row_q8<BlockQ8_0>(x, y, n); }
void dequantize_row_q8_1_neon(const void* x, float* y, int64_t n) { dequantize_row_q8<BlockQ8_1>(x, y, n); }

// --- f16 / bf16 rows ------------------------------------------------------------------------

void quantize_row_f16_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<fp16_t*>(vy);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t h = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(x + i)), vld1q_f32(x + i + 4));
    vst1q_u16(y + i, vreinterpretq_u16_f16(h));
  }
  for (; i < n; ++i) y[i] = to_half(x[i]);
}

void dequantize_row_f16_neon(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const fp16_t*>(vx);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(x + i));
    vst1q_f32(y + i, vcvt_f32_f16(vget_low_f16(h)));
    vst1q_f32(y + i + 4, vcvt_high_f32_f16(h));
  }
  for (; i < n; ++i) y[i] = from_half(x[i]);
}

// float_to_bf16 in integer arithmetic for eight values: round to nearest even by adding
// 0x7fff plus the lowest kept bit (ADDHN adds and keeps the high halves); a NaN is truncated
// and quieted instead.
uint16x8_t to_bf16x8(float32x4_t f0, float32x4_t f1) {
  const uint32x4_t u0 = vreinterpretq_u32_f32(f0), u1 = vreinterpretq_u32_f32(f1);
  const uint32x4_t half = vdupq_n_u32(0x7fff), one = vdupq_n_u32(1);
  const uint32x4_t bias0 = vaddq_u32(vandq_u32(vshrq_n_u32(u0, 16), one), half);
  const uint32x4_t bias1 = vaddq_u32(vandq_u32(vshrq_n_u32(u1, 16), one), half);
  const uint16x8_t rounded = vaddhn_high_u32(vaddhn_u32(u0, bias0), u1, bias1);
  const uint16x8_t quieted = vorrq_u16(vshrn_high_n_u32(vshrn_n_u32(u0, 16), u1, 16), vdupq_n_u16(0x40));
  const uint16x8_t is_number = vmovn_high_u32(vmovn_u32(vceqq_f32(f0, f0)), vceqq_f32(f1, f1));
  return vbslq_u16(is_number, rounded, quieted);
}

float32x4_t from_bf16x4(uint16x4_t h) { return vreinterpretq_f32_u32(vshll_n_u16(h, 16)); }

void quantize_row_bf16_neon(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<bf16_t*>(vy);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    vst1q_u16(y + i, to_bf16x8(vld1q_f32(x + i), vld1q_f32(x + i + 4)));
  }
  for (; i < n; ++i) y[i] = vgetq_lane_u16(to_bf16x8(vdupq_n_f32(x[i]), vdupq_n_f32(x[i])), 0);
}

void dequantize_row_bf16_neon(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const bf16_t*>(vx);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint16x8_t h = vld1q_u16(x + i);
    vst1q_f32(y + i, from_bf16x4(vget_low_u16(h)));
    vst1q_f32(y + i + 4, from_bf16x4(vget_high_u16(h)));
  }
  for (; i < n; ++i) y[i] = vgetq_lane_f32(from_bf16x4(vdup_n_u16(x[i])), 0);
}

// --- Float dots -----------------------------------------------------------------------------
//
// Element i is fused-multiply-added into lane i % 32 (eight vectors), as the reference; the
// tail and the fold are the reference's own. Load(x, i, k) gives elements i + 4k .. i + 4k + 3.

template <typename T, typename Load, typename Finish>
float vec_dot_float(int64_t n, const T* x, const float* y, Load load, Finish finish) {
  float32x4_t acc[8];
  for (auto& a : acc) a = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + ref::kFloatLanes <= n; i += ref::kFloatLanes) {
    for (int k = 0; k < 8; ++k) acc[k] = vfmaq_f32(acc[k], load(x, i, k), vld1q_f32(y + i + 4 * k));
  }
  float lanes[ref::kFloatLanes];
  for (int k = 0; k < 8; ++k) vst1q_f32(lanes + 4 * k, acc[k]);
  return finish(x, y, i, n, lanes);
}

float vec_dot_f32_f32_neon(int64_t n, const void* x, const void* y) {
  return vec_dot_float(
      n, static_cast<const float*>(x), static_cast<const float*>(y),
      [](const float* p, int64_t i, int k) { return vld1q_f32(p + i + 4 * k); }, ref::finish_dot_f32);
}

float vec_dot_f16_f32_neon(int64_t n, const void* x, const void* y) {
  return vec_dot_float(
      n, static_cast<const fp16_t*>(x), static_cast<const float*>(y),
      [](const fp16_t* p, int64_t i, int k) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p + i + 4 * k))); },
      ref::finish_dot_f16);
}

float vec_dot_bf16_f32_neon(int64_t n, const void* x, const void* y) {
  return vec_dot_float(
      n, static_cast<const bf16_t*>(x), static_cast<const float*>(y),
      [](const bf16_t* p, int64_t i, int k) { return from_bf16x4(vld1_u16(p + i + 4 * k)); }, ref::finish_dot_bf16);
}

}  // namespace

void fill_neon_table(KernelTable* t) {
  auto set = [t](Format f, FormatKernels k) { t->by_id[static_cast<uint32_t>(f)] = k; };
  // f32 rows are copies: the reference's memcpy stays.
  set(Format::kF32, {ref::quantize_row_f32, ref::dequantize_row_f32, vec_dot_f32_f32_neon});
  set(Format::kF16, {quantize_row_f16_neon, dequantize_row_f16_neon, vec_dot_f16_f32_neon});
  set(Format::kBF16, {quantize_row_bf16_neon, dequantize_row_bf16_neon, vec_dot_bf16_f32_neon});
  set(Format::kQ4_0, {quantize_row_q4_0_neon, dequantize_row_blocks<Q4_0Codes>});
  set(Format::kQ4_1, {quantize_row_q4_1_neon, dequantize_row_blocks<Q4_1Codes>});
  set(Format::kQ5_0, {quantize_row_q5_0_neon, dequantize_row_blocks<Q5_0Codes>});
  set(Format::kQ5_1, {quantize_row_q5_1_neon, dequantize_row_blocks<Q5_1Codes>});
  set(Format::kQ8_0, {quantize_row_q8_0_neon, dequantize_row_q8_0_neon});
  set(Format::kQ8_1, {quantize_row_q8_1_neon, dequantize_row_q8_1_neon, nullptr});
  set_block_dots<MullDot>(t);
}

}  // namespace quantd::kernels
