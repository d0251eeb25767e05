// Block dot-product loops and unpacking shared by neon.cc and neon_dotprod.cc (internal).
//
// Everything here is in an anonymous namespace: each file gets its own copy, compiled with its
// own -march. An inline function with external linkage would instead be emitted as a weak
// symbol by both files, and the linker could pick the +dotprod copy for a CPU without it.
// The only inline functions with external linkage used here are ref::reduce_block_lanes and
// trivial accessors, always inlined at -O3; scripts/test-arm64.sh checks that neon_dotprod.o
// defines no weak symbol.
//
// The integer part of a block's dot product is exact in any order; the float part follows
// the reference exactly (kernels/internal/reference.h): block b's term goes to lane b % 4,
// computed with the same multiplications and additions as ref::block_term_*.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "internal/reference.h"
#include "quantd/kernels/formats.h"

namespace quantd::kernels {
namespace {

// --- Unpacking ------------------------------------------------------------------------------

// The 32 four-bit codes of a block: low nibbles are values 0..15, high nibbles 16..31.
inline void unpack_nibbles(const uint8_t* qs, uint8x16_t* lo, uint8x16_t* hi) {
  const uint8x16_t q = vld1q_u8(qs);
  *lo = vandq_u8(q, vdupq_n_u8(0x0f));
  *hi = vshrq_n_u8(q, 4);
}

// Bit 4 of the 32 five-bit codes: bit j of the little-endian qh becomes 0x10 in byte j.
inline void unpack_high_bits(const uint8_t* qh_bytes, uint8x16_t* lo, uint8x16_t* hi) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, sizeof qh);
  const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(qh));
  // Byte j of the result looks at qh byte j / 8 and tests bit j % 8 of it.
  static const uint8_t kLoIndex[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  static const uint8_t kHiIndex[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bit = vld1q_u8(kBit);
  const uint8x16_t b4 = vdupq_n_u8(0x10);
  *lo = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kLoIndex)), bit), b4);
  *hi = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kHiIndex)), bit), b4);
}

// Codes 0..15 of a Q4 block as signed bytes, after subtracting offset (8 for Q4_0, 0 for Q4_1).
inline void load_q4(const uint8_t* qs, int8_t offset, int8x16_t* lo, int8x16_t* hi) {
  uint8x16_t l, h;
  unpack_nibbles(qs, &l, &h);
  *lo = vsubq_s8(vreinterpretq_s8_u8(l), vdupq_n_s8(offset));
  *hi = vsubq_s8(vreinterpretq_s8_u8(h), vdupq_n_s8(offset));
}

// Codes 0..31 of a Q5 block as signed bytes, after subtracting offset (16 for Q5_0, 0 for Q5_1).
inline void load_q5(const uint8_t* qs, const uint8_t* qh, int8_t offset, int8x16_t* lo, int8x16_t* hi) {
  uint8x16_t l, h, bl, bh;
  unpack_nibbles(qs, &l, &h);
  unpack_high_bits(qh, &bl, &bh);
  *lo = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(l, bl)), vdupq_n_s8(offset));
  *hi = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(h, bh)), vdupq_n_s8(offset));
}

// One fp16 field of four consecutive blocks, widened (exactly) to float.
template <typename Block>
inline float32x4_t load_halves4(const Block* blk, fp16_t Block::*field) {
  const uint16_t h[4] = {blk[0].*field, blk[1].*field, blk[2].*field, blk[3].*field};
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

// The four block sums of four int32x4 partial sums: lane k = all lanes of part[k] added.
inline int32x4_t block_sums4(const int32x4_t part[4]) {
  return vpaddq_s32(vpaddq_s32(part[0], part[1]), vpaddq_s32(part[2], part[3]));
}

// --- Block dot products ---------------------------------------------------------------------
//
// Dot is the integer kernel: Dot::small(x0, y0, x1, y1) for codes of magnitude <= 32 and
// Dot::full for any int8 codes each return int32 lanes whose total is x0.y0 + x1.y1.

// The lanes of the vector loop, then blocks [b, nb) through the reference's block term.
template <typename Term>
inline float finish_block_dot(float32x4_t acc, int64_t b, int64_t nb, Term term) {
  float lanes[ref::kBlockLanes];
  vst1q_f32(lanes, acc);
  for (; b < nb; ++b) lanes[b % ref::kBlockLanes] += term(b);
  return ref::reduce_block_lanes(lanes);
}

template <typename Dot>
float vec_dot_q4_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  const int64_t nb = n / kBlockSize;
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    int32x4_t part[4];
    for (int k = 0; k < 4; ++k) {
      int8x16_t lo, hi;
      load_q4(x[b + k].qs, 8, &lo, &hi);
      part[k] = Dot::small(lo, vld1q_s8(y[b + k].qs), hi, vld1q_s8(y[b + k].qs + 16));
    }
    // (float)sum * (dx * dy), as ref::block_term_q4_0_q8_0.
    const float32x4_t d = vmulq_f32(load_halves4(x + b, &BlockQ4_0::d), load_halves4(y + b, &BlockQ8_0::d));
    acc = vaddq_f32(acc, vmulq_f32(vcvtq_f32_s32(block_sums4(part)), d));
  }
  return finish_block_dot(acc, b, nb, [&](int64_t i) { return ref::block_term_q4_0_q8_0(x[i], y[i]); });
}

template <typename Dot>
float vec_dot_q4_1_q8_1(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ4_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  const int64_t nb = n / kBlockSize;
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    int32x4_t part[4];
    for (int k = 0; k < 4; ++k) {
      int8x16_t lo, hi;
      load_q4(x[b + k].qs, 0, &lo, &hi);
      part[k] = Dot::small(lo, vld1q_s8(y[b + k].qs), hi, vld1q_s8(y[b + k].qs + 16));
    }
    // (dx * dy) * (float)sum + mx * sy, as ref::block_term_q4_1_q8_1.
    const float32x4_t d = vmulq_f32(load_halves4(x + b, &BlockQ4_1::d), load_halves4(y + b, &BlockQ8_1::d));
    const float32x4_t ms = vmulq_f32(load_halves4(x + b, &BlockQ4_1::m), load_halves4(y + b, &BlockQ8_1::s));
    acc = vaddq_f32(acc, vaddq_f32(vmulq_f32(d, vcvtq_f32_s32(block_sums4(part))), ms));
  }
  return finish_block_dot(acc, b, nb, [&](int64_t i) { return ref::block_term_q4_1_q8_1(x[i], y[i]); });
}

template <typename Dot>
float vec_dot_q5_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ5_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  const int64_t nb = n / kBlockSize;
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    int32x4_t part[4];
    for (int k = 0; k < 4; ++k) {
      int8x16_t lo, hi;
      load_q5(x[b + k].qs, x[b + k].qh, 16, &lo, &hi);
      part[k] = Dot::small(lo, vld1q_s8(y[b + k].qs), hi, vld1q_s8(y[b + k].qs + 16));
    }
    const float32x4_t d = vmulq_f32(load_halves4(x + b, &BlockQ5_0::d), load_halves4(y + b, &BlockQ8_0::d));
    acc = vaddq_f32(acc, vmulq_f32(vcvtq_f32_s32(block_sums4(part)), d));
  }
  return finish_block_dot(acc, b, nb, [&](int64_t i) { return ref::block_term_q5_0_q8_0(x[i], y[i]); });
}

template <typename Dot>
float vec_dot_q5_1_q8_1(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ5_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  const int64_t nb = n / kBlockSize;
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    int32x4_t part[4];
    for (int k = 0; k < 4; ++k) {
      int8x16_t lo, hi;
      load_q5(x[b + k].qs, x[b + k].qh, 0, &lo, &hi);
      part[k] = Dot::small(lo, vld1q_s8(y[b + k].qs), hi, vld1q_s8(y[b + k].qs + 16));
    }
    const float32x4_t d = vmulq_f32(load_halves4(x + b, &BlockQ5_1::d), load_halves4(y + b, &BlockQ8_1::d));
    const float32x4_t ms = vmulq_f32(load_halves4(x + b, &BlockQ5_1::m), load_halves4(y + b, &BlockQ8_1::s));
    acc = vaddq_f32(acc, vaddq_f32(vmulq_f32(d, vcvtq_f32_s32(block_sums4(part))), ms));
  }
  return finish_block_dot(acc, b, nb, [&](int64_t i) { return ref::block_term_q5_1_q8_1(x[i], y[i]); });
}

template <typename Dot>
float vec_dot_q8_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ8_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  const int64_t nb = n / kBlockSize;
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    int32x4_t part[4];
    for (int k = 0; k < 4; ++k) {
      part[k] = Dot::full(vld1q_s8(x[b + k].qs), vld1q_s8(y[b + k].qs), vld1q_s8(x[b + k].qs + 16),
                          vld1q_s8(y[b + k].qs + 16));
    }
    const float32x4_t d = vmulq_f32(load_halves4(x + b, &BlockQ8_0::d), load_halves4(y + b, &BlockQ8_0::d));
    acc = vaddq_f32(acc, vmulq_f32(vcvtq_f32_s32(block_sums4(part)), d));
  }
  return finish_block_dot(acc, b, nb, [&](int64_t i) { return ref::block_term_q8_0_q8_0(x[i], y[i]); });
}

}  // namespace
}  // namespace quantd::kernels
