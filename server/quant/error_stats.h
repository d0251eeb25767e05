// Error of a reconstruction against its original, accumulated in double (gemma.cpp's
// DistortionStats). Partial accumulators (per thread, per chunk) merge with merge();
// compute_error_stats() merges fixed-size chunks in index order, so its result does not
// depend on the thread count (double addition is not associative, so the grouping is fixed).
//
// Definitions, with x the original, y the restored values and e = x - y:
//   mse = sum e^2 / count, rmse = sqrt(mse), max_abs = max |e|
//   snr_db = 10 log10(sum x^2 / sum e^2): +inf when sum e^2 == 0 (exact, including all-zero
//            x), -inf when x is all zero but e is not.
//   cosine = x.y / (|x| |y|) clamped to [-1, 1]: 1 when x and y are both all zero, 0 when
//            only one of them is.
//   An empty accumulator reports count 0, zero errors, snr +inf and cosine 1.
// Inputs are expected finite (quantize() checks its input); a NaN makes the sums NaN.
#pragma once

#include <cstdint>

namespace quantd::quant {

struct ErrorStats {
  int64_t count = 0;
  double mse = 0;  // mean of (x - y)^2
  double rmse = 0;
  double max_abs = 0;  // max |x - y|
  double snr_db = 0;   // 10 log10(sum x^2 / sum (x - y)^2); +inf when exact
  double cosine = 0;   // x.y / (|x| |y|); 1 when both are zero
};

class ErrorAccumulator {
 public:
  void add(const float* original, const float* restored, int64_t n);
  void merge(const ErrorAccumulator& other);
  ErrorStats stats() const;

 private:
  int64_t count_ = 0;
  double sum_sq_err_ = 0;
  double sum_sq_x_ = 0;
  double sum_sq_y_ = 0;
  double sum_xy_ = 0;
  double max_abs_ = 0;
};

// Stats of n values, split over `threads` OpenMP threads (< 1 means 1). The same result
// for any thread count.
ErrorStats compute_error_stats(const float* original, const float* restored, int64_t n,
                               int threads);

}  // namespace quantd::quant
