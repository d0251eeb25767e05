// Internal: range calibration for the integer schemes (min-max, percentile, MSE search).
#pragma once

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <vector>

#include "server/quant/int_codec.h"
#include "server/quant/layout.h"
#include "server/quant/scheme.h"

namespace quantd::quant::internal {

struct MinMax {
  float lo = FLT_MAX;
  float hi = -FLT_MAX;
  void fold(const MinMax& o) {
    lo = std::min(lo, o.lo);
    hi = std::max(hi, o.hi);
  }
};

// (scale, zero point) of every slice of x under spec.range. x is finite; spec validated.
std::vector<IntParams> calibrate(const float* x, const Slicing& s, const QuantSpec& spec,
                                 int threads);

// Percentile clipping of one slice v[0..m) (|v| for symmetric schemes). Slices from
// kRadixSelectMinValues are selected in place with `team` threads; smaller ones are copied
// into buf (which may already hold v) and reordered there.
IntParams percentile_params(Scheme scheme, const float* v, int64_t m, double p, int team,
                            std::vector<float>& buf);

// The candidate of the grid 1, 1 - 0.5/grid, ..., 0.5 (ratios of the min-max range mm) with
// the least squared error over v[0..m); ties keep the larger ratio, so min-max wins ties.
IntParams mse_params(Scheme scheme, const float* v, int64_t m, MinMax mm, int grid, int team);

// The percentile p in [0, 100] of v[0..m) (m > 0), interpolating linearly between order
// statistics at position p / 100 * (m - 1). Reorders v.
float percentile_of(float* v, int64_t m, double p);

}  // namespace quantd::quant::internal
