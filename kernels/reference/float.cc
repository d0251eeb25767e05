// F32, F16 and BF16 rows: conversions and dots against f32 activations.
#include <cstring>

#include "internal/reference.h"
#include "quantd/kernels/fp16.h"

namespace quantd::kernels::ref {

void quantize_row_f32(const float* x, void* y, int64_t n) { std::memcpy(y, x, n * sizeof(float)); }
void dequantize_row_f32(const void* x, float* y, int64_t n) { std::memcpy(y, x, n * sizeof(float)); }

void quantize_row_f16(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<fp16_t*>(vy);
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_fp16(x[i]);
}
void dequantize_row_f16(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const fp16_t*>(vx);
  for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_float(x[i]);
}

void quantize_row_bf16(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<bf16_t*>(vy);
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(x[i]);
}
void dequantize_row_bf16(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const bf16_t*>(vx);
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_float(x[i]);
}

float vec_dot_f32_f32(int64_t n, const void* x, const void* y) {
  float acc[kFloatLanes] = {};
  return finish_dot_f32(static_cast<const float*>(x), static_cast<const float*>(y), 0, n, acc);
}
float vec_dot_f16_f32(int64_t n, const void* x, const void* y) {
  float acc[kFloatLanes] = {};
  return finish_dot_f16(static_cast<const fp16_t*>(x), static_cast<const float*>(y), 0, n, acc);
}
float vec_dot_bf16_f32(int64_t n, const void* x, const void* y) {
  float acc[kFloatLanes] = {};
  return finish_dot_bf16(static_cast<const bf16_t*>(x), static_cast<const float*>(y), 0, n, acc);
}

}  // namespace quantd::kernels::ref
