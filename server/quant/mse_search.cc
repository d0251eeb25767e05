// MSE search: the clipping ratio of the min-max range with the least squared error. Errors
// are summed per fixed chunk, then over chunks in order, so the choice does not depend on
// the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "server/quant/parallel.h"
#include "server/quant/range.h"

namespace quantd::quant::internal {
namespace {

// Clipping ratio k of the grid: 1, 1 - 0.5/n, ..., 0.5.
IntParams candidate(Scheme scheme, MinMax mm, int k, int n) {
  const float ratio = static_cast<float>(1.0 - 0.5 * k / n);
  if (is_symmetric(scheme)) {
    const float r = std::max(std::fabs(mm.lo), std::fabs(mm.hi)) * ratio;
    return params_for_range(scheme, -r, r);
  }
  return params_for_range(scheme, std::min(mm.lo, 0.0f) * ratio, std::max(mm.hi, 0.0f) * ratio);
}

}  // namespace

IntParams mse_params(Scheme scheme, const float* v, int64_t m, MinMax mm, int grid, int team) {
  const int cands = grid + 1;
  std::vector<SliceCodec> codecs(cands);
  std::vector<IntParams> params(cands);
  for (int k = 0; k < cands; ++k) {
    params[k] = candidate(scheme, mm, k, grid);
    codecs[k] = make_codec(scheme, params[k]);
  }
  const int64_t chunks = ceil_div(m, kChunkValues);
  std::vector<double> part(static_cast<size_t>(chunks * cands));
  // Chunk-major: all candidates of one chunk while it is in cache.
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunkValues;
    const int64_t len = std::min(kChunkValues, m - b);
    for (int k = 0; k < cands; ++k) part[c * cands + k] = squared_error_run(v + b, len, codecs[k]);
  }
  int best = 0;
  double best_err = 0;
  for (int k = 0; k < cands; ++k) {
    double err = 0;
    for (int64_t c = 0; c < chunks; ++c) err += part[c * cands + k];
    if (k == 0 || err < best_err) {
      best = k;
      best_err = err;
    }
  }
  return params[best];
}

}  // namespace quantd::quant::internal
