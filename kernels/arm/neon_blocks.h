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
#include "quantd/kernels/kernels.h"

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
// Codes describes a weight format: X and Y (block types), codes(x, lo, hi) (its 32 codes as
// signed bytes, the zero point of the symmetric formats already subtracted), kFull (codes
// may be any int8) and ref_term (the reference's term, for the tail blocks). Formats with an
// m field are the offset formats, whose term adds m * s.

struct Q4_0Codes {
  using X = BlockQ4_0;
  using Y = BlockQ8_0;
  static constexpr bool kFull = false;
  static void codes(const X& x, int8x16_t* lo, int8x16_t* hi) { load_q4(x.qs, 8, lo, hi); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q4_0_q8_0(x, y); }
};

struct Q4_1Codes {
  using X = BlockQ4_1;
  using Y = BlockQ8_1;
  static constexpr bool kFull = false;
  static void codes(const X& x, int8x16_t* lo, int8x16_t* hi) { load_q4(x.qs, 0, lo, hi); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q4_1_q8_1(x, y); }
};

struct Q5_0Codes {
  using X = BlockQ5_0;
  using Y = BlockQ8_0;
  static constexpr bool kFull = false;
  static void codes(const X& x, int8x16_t* lo, int8x16_t* hi) { load_q5(x.qs, x.qh, 16, lo, hi); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q5_0_q8_0(x, y); }
};

struct Q5_1Codes {
  using X = BlockQ5_1;
  using Y = BlockQ8_1;
  static constexpr bool kFull = false;
  static void codes(const X& x, int8x16_t* lo, int8x16_t* hi) { load_q5(x.qs, x.qh, 0, lo, hi); }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q5_1_q8_1(x, y); }
};

struct Q8_0Codes {
  using X = BlockQ8_0;
  using Y = BlockQ8_0;
  static constexpr bool kFull = true;
  static void codes(const X& x, int8x16_t* lo, int8x16_t* hi) {
    *lo = vld1q_s8(x.qs);
    *hi = vld1q_s8(x.qs + 16);
  }
  static float ref_term(const X& x, const Y& y) { return ref::block_term_q8_0_q8_0(x, y); }
};

// The float terms of four blocks from their exact integer sums, as ref::block_term_* builds
// them: (float)sum * (dx * dy), plus mx * sy for the offset formats.
template <typename X, typename Y>
inline float32x4_t block_terms4(const X* x, const Y* y, int32x4_t sums) {
  const float32x4_t d = vmulq_f32(load_halves4(x, &X::d), load_halves4(y, &Y::d));
  if constexpr (requires { &X::m; }) {
    const float32x4_t ms = vmulq_f32(load_halves4(x, &X::m), load_halves4(y, &Y::s));
    return vaddq_f32(vmulq_f32(d, vcvtq_f32_s32(sums)), ms);
  } else {
    return vmulq_f32(vcvtq_f32_s32(sums), d);
  }
}

// vec_dot for one format: four blocks per iteration into lanes b % 4, then the reference's
// terms for the tail, folded as ref::reduce_block_lanes folds.
template <typename Dot, typename Codes>
float block_dot(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const typename Codes::X*>(vx);
  const auto* y = static_cast<const typename Codes::Y*>(vy);
  const int64_t nb = n / kBlockSize;
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    int32x4_t part[4];
    for (int k = 0; k < 4; ++k) {
      int8x16_t lo, hi;
      Codes::codes(x[b + k], &lo, &hi);
      const int8x16_t y0 = vld1q_s8(y[b + k].qs), y1 = vld1q_s8(y[b + k].qs + 16);
      part[k] = Codes::kFull ? Dot::full(lo, y0, hi, y1) : Dot::small(lo, y0, hi, y1);
    }
    acc = vaddq_f32(acc, block_terms4(x + b, y + b, block_sums4(part)));
  }
  float lanes[ref::kBlockLanes];
  vst1q_f32(lanes, acc);
  for (; b < nb; ++b) lanes[b % ref::kBlockLanes] += Codes::ref_term(x[b], y[b]);
  return ref::reduce_block_lanes(lanes);
}

// The table entries of one ISA's integer kernel Dot, by format.
template <typename Dot>
void set_block_dots(KernelTable* t) {
  auto set = [t](Format f, VecDotFn dot) { t->by_id[static_cast<uint32_t>(f)].vec_dot = dot; };
  set(Format::kQ4_0, block_dot<Dot, Q4_0Codes>);
  set(Format::kQ4_1, block_dot<Dot, Q4_1Codes>);
  set(Format::kQ5_0, block_dot<Dot, Q5_0Codes>);
  set(Format::kQ5_1, block_dot<Dot, Q5_1Codes>);
  set(Format::kQ8_0, block_dot<Dot, Q8_0Codes>);
}

}  // namespace
}  // namespace quantd::kernels
