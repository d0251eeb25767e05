// Range calibration: per-slice min-max here, and the dispatch of each slice to the
// percentile (percentile.cc) or MSE (mse_search.cc) method. Min and max are exact in any
// order, so the ranges never depend on the thread count.
#include "server/quant/range.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "server/quant/parallel.h"

namespace quantd::quant::internal {
namespace {

// GCC vectorizes min/max reductions only under -ffinite-math-only, so the lanes are explicit
// vector types (GCC and Clang, any target). Min and max are exact: the split changes nothing.
typedef float Lanes __attribute__((vector_size(16)));

MinMax minmax_run(const float* x, int64_t n) {
  constexpr int kWidth = 4;
  Lanes lo[2], hi[2];
  lo[0] = lo[1] = Lanes{} + FLT_MAX;
  hi[0] = hi[1] = Lanes{} - FLT_MAX;
  int64_t j = 0;
  for (; j + 2 * kWidth <= n; j += 2 * kWidth) {
    for (int u = 0; u < 2; ++u) {
      Lanes v;
      std::memcpy(&v, x + j + u * kWidth, sizeof v);
      lo[u] = v < lo[u] ? v : lo[u];
      hi[u] = v > hi[u] ? v : hi[u];
    }
  }
  MinMax m;
  for (; j < n; ++j) m.fold({x[j], x[j]});
  for (int u = 0; u < 2; ++u) {
    for (int l = 0; l < kWidth; ++l) m.fold({lo[u][l], hi[u][l]});
  }
  return m;
}

// Channel c's values are `outer` runs of `inner`; run o of channel c starts at
// (o * channels + c) * inner.
void fold_channels(const float* x, const Slicing& s, int64_t c0, int64_t c1, int64_t o0, int64_t o1,
                   MinMax* out /* indexed by c */) {
  for (int64_t o = o0; o < o1; ++o) {
    const float* row = x + o * s.channels * s.inner;
    if (s.inner == 1) {
      for (int64_t c = c0; c < c1; ++c) {  // contiguous across channels: vectorizes
        out[c].lo = std::min(out[c].lo, row[c]);
        out[c].hi = std::max(out[c].hi, row[c]);
      }
    } else {
      for (int64_t c = c0; c < c1; ++c) out[c].fold(minmax_run(row + c * s.inner, s.inner));
    }
  }
}

std::vector<MinMax> slice_minmax(const float* x, const Slicing& s, int threads) {
  const int team = team_size(threads, s.n);
  std::vector<MinMax> mm(static_cast<size_t>(s.slices));
  switch (s.kind) {
    case Slicing::Kind::kTensor: {
      const int64_t chunks = ceil_div(s.n, kChunkValues);
      std::vector<MinMax> part(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) num_threads(team)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t b = c * kChunkValues;
        part[c] = minmax_run(x + b, std::min(kChunkValues, s.n - b));
      }
      for (const MinMax& p : part) mm[0].fold(p);
      break;
    }
    case Slicing::Kind::kGroup:
#pragma omp parallel for schedule(static) num_threads(team)
      for (int64_t g = 0; g < s.slices; ++g) mm[g] = minmax_run(x + g * s.group, s.group);
      break;
    case Slicing::Kind::kChannel:
      if (s.channels >= team) {
        // Each thread owns a block of channels and walks all rows for it.
        const int64_t blocks = std::min<int64_t>(s.channels, int64_t{team} * 4);
#pragma omp parallel for schedule(static) num_threads(team)
        for (int64_t b = 0; b < blocks; ++b) {
          fold_channels(x, s, s.channels * b / blocks, s.channels * (b + 1) / blocks, 0, s.outer,
                        mm.data());
        }
      } else {
        // Few channels, many rows: per-thread partials (tiny: fewer channels than threads).
#pragma omp parallel num_threads(team)
        {
          std::vector<MinMax> mine(static_cast<size_t>(s.channels));
#pragma omp for schedule(static)
          for (int64_t o = 0; o < s.outer; ++o)
            fold_channels(x, s, 0, s.channels, o, o + 1, mine.data());
#pragma omp critical(quantd_quant_minmax)
          for (int64_t c = 0; c < s.channels; ++c) mm[c].fold(mine[c]);
        }
      }
      break;
  }
  return mm;
}

}  // namespace

std::vector<IntParams> calibrate(const float* x, const Slicing& s, const QuantSpec& spec,
                                 int threads) {
  const Scheme scheme = spec.scheme;
  std::vector<IntParams> out(static_cast<size_t>(s.slices));
  if (spec.range == RangeMethod::kMinMax) {
    const std::vector<MinMax> mm = slice_minmax(x, s, threads);
    for (int64_t i = 0; i < s.slices; ++i) out[i] = params_for_range(scheme, mm[i].lo, mm[i].hi);
    return out;
  }
  std::vector<MinMax> mm;
  if (spec.range == RangeMethod::kMse) mm = slice_minmax(x, s, threads);
  const int64_t m = s.n / s.slices;
  const int team = team_size(threads, s.n);
  // Many slices: one per thread. Few: one after the other, the MSE grid split by chunks.
  const bool across_slices = s.slices >= team;
  const int slice_team = across_slices ? 1 : team;
#pragma omp parallel num_threads(across_slices ? team : 1)
  {
    std::vector<float> buf;
#pragma omp for schedule(dynamic)
    for (int64_t i = 0; i < s.slices; ++i) {
      const float* v = x + s.slice_begin(i);
      if (!s.contiguous()) {
        buf.resize(static_cast<size_t>(m));
        gather_slice(x, s, i, buf.data());
        v = buf.data();
      }
      if (spec.range == RangeMethod::kPercentile) {
        out[i] = percentile_params(scheme, v, m, spec.percentile, slice_team, buf);
      } else {
        out[i] = mse_params(scheme, v, m, mm[i], spec.mse_grid_points, slice_team);
      }
    }
  }
  return out;
}

}  // namespace quantd::quant::internal
