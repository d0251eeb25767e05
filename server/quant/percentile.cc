// Percentile clipping: exact order statistics, linearly interpolated (numpy's default).
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "server/quant/range.h"
#include "server/quant/select.h"

namespace quantd::quant::internal {
namespace {

// Linear interpolation between order statistics k and k + 1 at position p / 100 * (m - 1).
struct Position {
  int64_t k;
  double frac;  // 0 when no interpolation is needed
};
Position position_of(double p, int64_t m) {
  const double pos = p / 100.0 * static_cast<double>(m - 1);
  const int64_t k = std::min<int64_t>(static_cast<int64_t>(pos), m - 1);
  const double frac = k + 1 < m ? pos - static_cast<double>(k) : 0.0;
  return {k, frac};
}
float interpolate(float low, float next, double frac) {
  return frac == 0 ? low : static_cast<float>(low + frac * (static_cast<double>(next) - low));
}

// The percentiles ps[0..count) of v[0..m) (of |v| when absolute) into out. Large inputs by
// radix selection in place; small ones copied into buf and selected with nth_element (buf
// may already hold v).
void percentiles(const float* v, int64_t m, bool absolute, const double* ps, int count, float* out,
                 int team, std::vector<float>& buf) {
  if (m >= kRadixSelectMinValues) {
    int64_t ranks[4];
    Position pos[2];
    int nr = 0;
    for (int i = 0; i < count; ++i) {
      pos[i] = position_of(ps[i], m);
      ranks[nr++] = pos[i].k;
      ranks[nr++] = std::min(pos[i].k + 1, m - 1);
    }
    float vals[4];
    order_statistics(v, m, absolute, std::span<const int64_t>(ranks, nr), vals, team);
    for (int i = 0; i < count; ++i) {
      out[i] = interpolate(vals[2 * i], vals[2 * i + 1], pos[i].frac);
    }
    return;
  }
  if (buf.data() != v) buf.assign(v, v + m);
  if (absolute) {
    for (float& x : buf) x = std::fabs(x);
  }
  // nth_element leaves a permutation: the next call still selects correctly.
  for (int i = 0; i < count; ++i) out[i] = percentile_of(buf.data(), m, ps[i]);
}

}  // namespace

IntParams percentile_params(Scheme scheme, const float* v, int64_t m, double p, int team,
                            std::vector<float>& buf) {
  if (is_symmetric(scheme)) {
    float r;
    percentiles(v, m, /*absolute=*/true, &p, 1, &r, team, buf);
    return params_for_range(scheme, -r, r);
  }
  // For p < 50 the two percentiles swap roles.
  const double ps[2] = {std::min(p, 100 - p), std::max(p, 100 - p)};
  float range[2];
  percentiles(v, m, /*absolute=*/false, ps, 2, range, team, buf);
  return params_for_range(scheme, range[0], range[1]);
}

float percentile_of(float* v, int64_t m, double p) {
  const Position pos = position_of(p, m);
  std::nth_element(v, v + pos.k, v + m);
  const float low = v[pos.k];
  if (pos.frac == 0) return low;
  // After nth_element everything past k is >= v[k]; the next order statistic is their min.
  return interpolate(low, *std::min_element(v + pos.k + 1, v + m), pos.frac);
}

}  // namespace quantd::quant::internal
