// Scale selection and the fixed summation order shared by all ISAs.
#include <cfloat>
#include <cmath>

#include "internal/reference.h"
#include "quantd/kernels/fp16.h"

namespace quantd::kernels::ref {

BlockScale block_scale(float d) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  return {d, id, !std::isfinite(d) || !std::isfinite(id)};
}

float signed_absmax(const float* x) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kBlockSize; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void block_min_max(const float* x, float* min, float* max) {
  float lo = FLT_MAX;
  float hi = -FLT_MAX;
  for (int j = 0; j < kBlockSize; ++j) {
    if (x[j] < lo) lo = x[j];
    if (x[j] > hi) hi = x[j];
  }
  *min = lo;
  *max = hi;
}

float reduce_float_lanes(float acc[kFloatLanes]) {
  for (int half = kFloatLanes / 2; half >= 1; half /= 2) {
    for (int j = 0; j < half; ++j) acc[j] += acc[j + half];
  }
  return acc[0];
}

namespace {
template <typename T, typename Widen>
float finish_dot(const T* x, const float* y, int64_t begin, int64_t n, float acc[kFloatLanes],
                 Widen widen) {
  for (int64_t i = begin; i < n; ++i) {
    float& a = acc[i % kFloatLanes];
    a = std::fma(widen(x[i]), y[i], a);
  }
  return reduce_float_lanes(acc);
}
}  // namespace

float finish_dot_f32(const float* x, const float* y, int64_t begin, int64_t n, float acc[kFloatLanes]) {
  return finish_dot(x, y, begin, n, acc, [](float v) { return v; });
}
float finish_dot_f16(const fp16_t* x, const float* y, int64_t begin, int64_t n, float acc[kFloatLanes]) {
  return finish_dot(x, y, begin, n, acc, fp16_to_float);
}
float finish_dot_bf16(const bf16_t* x, const float* y, int64_t begin, int64_t n, float acc[kFloatLanes]) {
  return finish_dot(x, y, begin, n, acc, bf16_to_float);
}

}  // namespace quantd::kernels::ref
