// Q8_0 and Q8_1: eight-bit codes rounded half away from zero (roundf), as ggml's reference.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "internal/reference.h"
#include "quantd/kernels/fp16.h"

namespace quantd::kernels::ref {
namespace {

float block_absmax(const float* x) {
  float amax = 0.0f;
  for (int j = 0; j < kBlockSize; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

// Writes the 32 codes of one block and returns their sum.
int32_t quantize_codes_q8(const float* x, const BlockScale& s, int8_t* qs) {
  int32_t sum = 0;
  for (int j = 0; j < kBlockSize; ++j) {
    qs[j] = s.degenerate ? 0 : static_cast<int8_t>(std::roundf(x[j] * s.id));
    sum += qs[j];
  }
  return sum;
}

}  // namespace

void quantize_row_q8_0(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t b = 0; b < n / kBlockSize; ++b, x += kBlockSize) {
    const BlockScale s = block_scale(block_absmax(x) / 127.0f);
    y[b].d = float_to_fp16(s.d);
    quantize_codes_q8(x, s, y[b].qs);
  }
}

void quantize_row_q8_1(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(vy);
  for (int64_t b = 0; b < n / kBlockSize; ++b, x += kBlockSize) {
    const BlockScale s = block_scale(block_absmax(x) / 127.0f);
    y[b].d = float_to_fp16(s.d);
    const int32_t sum = quantize_codes_q8(x, s, y[b].qs);
    y[b].s = float_to_fp16(static_cast<float>(sum) * s.d);
  }
}

void dequantize_row_q8_0(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const float d = fp16_to_float(x[b].d);
    for (int j = 0; j < kBlockSize; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

void dequantize_row_q8_1(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ8_1*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const float d = fp16_to_float(x[b].d);
    for (int j = 0; j < kBlockSize; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

float block_term_q8_0_q8_0(const BlockQ8_0& x, const BlockQ8_0& y) {
  int32_t sum = 0;
  for (int j = 0; j < kBlockSize; ++j) sum += x.qs[j] * y.qs[j];
  return static_cast<float>(sum) * (fp16_to_float(x.d) * fp16_to_float(y.d));
}

float vec_dot_q8_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ8_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  float acc[kBlockLanes] = {};
  for (int64_t b = 0; b < n / kBlockSize; ++b) acc[b % kBlockLanes] += block_term_q8_0_q8_0(x[b], y[b]);
  return reduce_block_lanes(acc);
}

}  // namespace quantd::kernels::ref
