#include "server/quant/int_codec.h"

#include <cfloat>
#include <cmath>

namespace quantd::quant::internal {

CodeRange code_range(Scheme s) {
  const SchemeInfo* r = find_scheme(s);
  return r != nullptr ? CodeRange{r->qmin, r->qmax} : CodeRange{0, 0};  // validate() has checked s
}

namespace {
// Keeps 1 / scale finite: below FLT_MIN the inverse could overflow to infinity.
float floor_scale(float scale) { return std::max(scale, FLT_MIN); }
}  // namespace

IntParams params_for_range(Scheme s, float lo, float hi) {
  const CodeRange r = code_range(s);
  if (is_symmetric(s)) {
    const float absmax = std::max(std::fabs(lo), std::fabs(hi));
    if (absmax == 0) return {1.0f, 0};
    return {floor_scale(absmax / static_cast<float>(r.qmax)), 0};
  }
  // Include 0 so that it is exactly representable (padding, ReLU outputs).
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi == lo) return {1.0f, 0};
  // In double: hi - lo can exceed FLT_MAX.
  const int levels = r.qmax - r.qmin;
  const float scale = floor_scale(static_cast<float>((static_cast<double>(hi) - lo) / levels));
  const double zp = std::nearbyint(-static_cast<double>(lo) / scale);
  return {scale, static_cast<int32_t>(std::clamp(zp, 0.0, static_cast<double>(levels)))};
}

SliceCodec make_codec(Scheme s, IntParams p) {
  const CodeRange r = code_range(s);
  return {p.scale, 1.0f / p.scale, static_cast<float>(r.qmin - p.zero_point),
          static_cast<float>(r.qmax - p.zero_point), p.zero_point};
}

double squared_error_run(const float* x, int64_t n, const SliceCodec& c) {
  constexpr int kLanes = 4;
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float y = shifted_code(x[j + l], c.inv, c.vmin, c.vmax) * c.scale;
      const double e = static_cast<double>(x[j + l]) - y;
      acc[l] += e * e;
    }
  }
  for (int l = 0; j < n; ++j, ++l) {
    const float y = shifted_code(x[j], c.inv, c.vmin, c.vmax) * c.scale;
    const double e = static_cast<double>(x[j]) - y;
    acc[l] += e * e;
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

}  // namespace quantd::quant::internal
