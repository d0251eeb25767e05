// The scalar reference kernels: the definition of every format (internal to libquantd_kernels).
//
// SIMD files call the block terms and accumulators below for their tails, so that a tail is
// summed exactly as the reference sums it. See kernels/reference/README.md for the arithmetic.
#pragma once

#include <cstdint>

#include "quantd/kernels/formats.h"

namespace quantd::kernels::ref {

void quantize_row_q4_0(const float* x, void* y, int64_t n);
void quantize_row_q4_1(const float* x, void* y, int64_t n);
void quantize_row_q5_0(const float* x, void* y, int64_t n);
void quantize_row_q5_1(const float* x, void* y, int64_t n);
void quantize_row_q8_0(const float* x, void* y, int64_t n);
void quantize_row_q8_1(const float* x, void* y, int64_t n);
void quantize_row_f16(const float* x, void* y, int64_t n);
void quantize_row_bf16(const float* x, void* y, int64_t n);
void quantize_row_f32(const float* x, void* y, int64_t n);

void dequantize_row_q4_0(const void* x, float* y, int64_t n);
void dequantize_row_q4_1(const void* x, float* y, int64_t n);
void dequantize_row_q5_0(const void* x, float* y, int64_t n);
void dequantize_row_q5_1(const void* x, float* y, int64_t n);
void dequantize_row_q8_0(const void* x, float* y, int64_t n);
void dequantize_row_q8_1(const void* x, float* y, int64_t n);
void dequantize_row_f16(const void* x, float* y, int64_t n);
void dequantize_row_bf16(const void* x, float* y, int64_t n);
void dequantize_row_f32(const void* x, float* y, int64_t n);

float vec_dot_q4_0_q8_0(int64_t n, const void* x, const void* y);
float vec_dot_q4_1_q8_1(int64_t n, const void* x, const void* y);
float vec_dot_q5_0_q8_0(int64_t n, const void* x, const void* y);
float vec_dot_q5_1_q8_1(int64_t n, const void* x, const void* y);
float vec_dot_q8_0_q8_0(int64_t n, const void* x, const void* y);
float vec_dot_f32_f32(int64_t n, const void* x, const void* y);
float vec_dot_f16_f32(int64_t n, const void* x, const void* y);
float vec_dot_bf16_f32(int64_t n, const void* x, const void* y);

// --- Fixed summation order, shared by every ISA -------------------------------------------
//
// Block formats: block b's term goes to accumulator b % 4; the result is (a0 + a1) + (a2 + a3).
// Float formats: element i is fused-multiply-added into accumulator i % 32; the 32 accumulators
// are folded in halves (a[j] += a[j + 16], then + 8, + 4, + 2, + 1).
inline constexpr int kBlockLanes = 4;
inline constexpr int kFloatLanes = 32;

inline float reduce_block_lanes(const float acc[kBlockLanes]) {
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}
float reduce_float_lanes(float acc[kFloatLanes]);

// The float term of one block pair; SIMD tails add it to acc[b % 4].
float block_term_q4_0_q8_0(const BlockQ4_0& x, const BlockQ8_0& y);
float block_term_q4_1_q8_1(const BlockQ4_1& x, const BlockQ8_1& y);
float block_term_q5_0_q8_0(const BlockQ5_0& x, const BlockQ8_0& y);
float block_term_q5_1_q8_1(const BlockQ5_1& x, const BlockQ8_1& y);
float block_term_q8_0_q8_0(const BlockQ8_0& x, const BlockQ8_0& y);

// Float dots over [begin, n) that continue the lanes a SIMD loop has filled (element i goes to
// acc[i % 32]); they finish with reduce_float_lanes.
float finish_dot_f32(const float* x, const float* y, int64_t begin, int64_t n, float acc[kFloatLanes]);
float finish_dot_f16(const fp16_t* x, const float* y, int64_t begin, int64_t n, float acc[kFloatLanes]);
float finish_dot_bf16(const bf16_t* x, const float* y, int64_t begin, int64_t n, float acc[kFloatLanes]);

// --- Scale selection, shared by every ISA -------------------------------------------------
//
// The inverse scale of a block whose scale is d: 1/d, or 0 when d is 0 (ggml's rule).
// When d or 1/d is not finite (a range that overflows float, or one so small that 1/d does),
// the block is degenerate and all its codes are 0; ggml leaves this case to the float-to-int
// conversion of an infinity, which is undefined behaviour in C.
struct BlockScale {
  float d;
  float id;
  bool degenerate;
};
BlockScale block_scale(float d);

// The symmetric formats' signed extreme: the first value of largest magnitude (0 if none).
float signed_absmax(const float* x);
// The offset formats' range: the first minimum and first maximum in index order.
void block_min_max(const float* x, float* min, float* max);

}  // namespace quantd::kernels::ref
