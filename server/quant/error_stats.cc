#include "server/quant/error_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "server/quant/parallel.h"

namespace quantd::quant {

void ErrorAccumulator::add(const float* x, const float* y, int64_t n) {
  if (n <= 0) return;
  // Four independent lanes keep the adds pipelined; the order is still fixed by n alone.
  constexpr int kLanes = 4;
  double se[kLanes] = {}, xx[kLanes] = {}, yy[kLanes] = {}, xy[kLanes] = {};
  double mx[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const double a = x[i + l], b = y[i + l], e = a - b;
      se[l] += e * e;
      xx[l] += a * a;
      yy[l] += b * b;
      xy[l] += a * b;
      mx[l] = std::max(mx[l], std::fabs(e));
    }
  }
  for (int l = 0; i < n; ++i, ++l) {
    const double a = x[i], b = y[i], e = a - b;
    se[l] += e * e;
    xx[l] += a * a;
    yy[l] += b * b;
    xy[l] += a * b;
    mx[l] = std::max(mx[l], std::fabs(e));
  }
  count_ += n;
  sum_sq_err_ += (se[0] + se[1]) + (se[2] + se[3]);
  sum_sq_x_ += (xx[0] + xx[1]) + (xx[2] + xx[3]);
  sum_sq_y_ += (yy[0] + yy[1]) + (yy[2] + yy[3]);
  sum_xy_ += (xy[0] + xy[1]) + (xy[2] + xy[3]);
  max_abs_ = std::max({max_abs_, mx[0], mx[1], mx[2], mx[3]});
}

void ErrorAccumulator::merge(const ErrorAccumulator& o) {
  count_ += o.count_;
  sum_sq_err_ += o.sum_sq_err_;
  sum_sq_x_ += o.sum_sq_x_;
  sum_sq_y_ += o.sum_sq_y_;
  sum_xy_ += o.sum_xy_;
  max_abs_ = std::max(max_abs_, o.max_abs_);
}

ErrorStats ErrorAccumulator::stats() const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ErrorStats s;
  s.count = count_;
  s.max_abs = max_abs_;
  if (count_ > 0) {
    s.mse = sum_sq_err_ / static_cast<double>(count_);
    s.rmse = std::sqrt(s.mse);
  }
  // log10(0) is -inf: an all-zero original restored with any error has no signal at all.
  s.snr_db = sum_sq_err_ == 0 ? kInf : 10.0 * std::log10(sum_sq_x_ / sum_sq_err_);
  if (sum_sq_x_ == 0 && sum_sq_y_ == 0) {
    s.cosine = 1;  // both zero: the reconstruction is exact
  } else if (sum_sq_x_ == 0 || sum_sq_y_ == 0) {
    s.cosine = 0;  // no direction to compare with
  } else {
    // Two square roots rather than one of the product, which could overflow.
    s.cosine = std::clamp(sum_xy_ / (std::sqrt(sum_sq_x_) * std::sqrt(sum_sq_y_)), -1.0, 1.0);
  }
  return s;
}

ErrorStats compute_error_stats(const float* x, const float* y, int64_t n, int threads) {
  using internal::kChunkValues;
  const int64_t chunks = internal::ceil_div(n, kChunkValues);
  std::vector<ErrorAccumulator> parts(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) num_threads(internal::team_size(threads, n))
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunkValues;
    parts[c].add(x + begin, y + begin, std::min(kChunkValues, n - begin));
  }
  ErrorAccumulator total;
  for (const ErrorAccumulator& p : parts) total.merge(p);
  return total.stats();
}

}  // namespace quantd::quant
