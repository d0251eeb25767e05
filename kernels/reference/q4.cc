// Q4_0 and Q4_1: the reference quantizers (ggml's rounding and clamping), dequantizers and dots.
#include <algorithm>
#include <cstring>

#include "internal/reference.h"
#include "quantd/kernels/fp16.h"

namespace quantd::kernels::ref {

void quantize_row_q4_0(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(vy);
  for (int64_t b = 0; b < n / kBlockSize; ++b, x += kBlockSize) {
    // The extreme value maps to code 0 (-8 * d), so d carries the extreme's sign.
    const BlockScale s = block_scale(signed_absmax(x) / -8.0f);
    y[b].d = float_to_fp16(s.d);
    if (s.degenerate) {
      std::memset(y[b].qs, 0, sizeof y[b].qs);
      continue;
    }
    for (int j = 0; j < kBlockSize / 2; ++j) {
      // Truncation after + 8.5 is rounding half up; the code 16 of a value a hair above the
      // extreme is clamped.
      const int lo = std::min(15, static_cast<int>(x[j] * s.id + 8.5f));
      const int hi = std::min(15, static_cast<int>(x[j + 16] * s.id + 8.5f));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_row_q4_1(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4_1*>(vy);
  for (int64_t b = 0; b < n / kBlockSize; ++b, x += kBlockSize) {
    float min, max;
    block_min_max(x, &min, &max);
    const BlockScale s = block_scale((max - min) / 15.0f);
    y[b].d = float_to_fp16(s.d);
    y[b].m = float_to_fp16(min);
    if (s.degenerate) {
      std::memset(y[b].qs, 0, sizeof y[b].qs);
      continue;
    }
    for (int j = 0; j < kBlockSize / 2; ++j) {
      const int lo = std::min(15, static_cast<int>((x[j] - min) * s.id + 0.5f));
      const int hi = std::min(15, static_cast<int>((x[j + 16] - min) * s.id + 0.5f));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void dequantize_row_q4_0(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const float d = fp16_to_float(x[b].d);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      y[j] = static_cast<float>((x[b].qs[j] & 0x0f) - 8) * d;
      y[j + 16] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const float d = fp16_to_float(x[b].d);
    const float m = fp16_to_float(x[b].m);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      y[j] = static_cast<float>(x[b].qs[j] & 0x0f) * d + m;
      y[j + 16] = static_cast<float>(x[b].qs[j] >> 4) * d + m;
    }
  }
}

float block_term_q4_0_q8_0(const BlockQ4_0& x, const BlockQ8_0& y) {
  int32_t sum = 0;
  for (int j = 0; j < kBlockSize / 2; ++j) {
    sum += ((x.qs[j] & 0x0f) - 8) * y.qs[j] + ((x.qs[j] >> 4) - 8) * y.qs[j + 16];
  }
  return static_cast<float>(sum) * (fp16_to_float(x.d) * fp16_to_float(y.d));
}

float block_term_q4_1_q8_1(const BlockQ4_1& x, const BlockQ8_1& y) {
  int32_t sum = 0;
  for (int j = 0; j < kBlockSize / 2; ++j) {
    sum += (x.qs[j] & 0x0f) * y.qs[j] + (x.qs[j] >> 4) * y.qs[j + 16];
  }
  return (fp16_to_float(x.d) * fp16_to_float(y.d)) * static_cast<float>(sum) +
         fp16_to_float(x.m) * fp16_to_float(y.s);
}

float vec_dot_q4_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  float acc[kBlockLanes] = {};
  for (int64_t b = 0; b < n / kBlockSize; ++b) acc[b % kBlockLanes] += block_term_q4_0_q8_0(x[b], y[b]);
  return reduce_block_lanes(acc);
}

float vec_dot_q4_1_q8_1(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ4_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  float acc[kBlockLanes] = {};
  for (int64_t b = 0; b < n / kBlockSize; ++b) acc[b % kBlockLanes] += block_term_q4_1_q8_1(x[b], y[b]);
  return reduce_block_lanes(acc);
}

}  // namespace quantd::kernels::ref
