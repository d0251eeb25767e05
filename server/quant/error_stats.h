// Error of a reconstruction against its original, accumulated in double so partial results
// (per thread, per chunk) merge exactly in any grouping (gemma.cpp's DistortionStats).
#pragma once

#include <cstdint>

namespace quantd::quant {

struct ErrorStats {
  int64_t count = 0;
  double mse = 0;        // mean of (x - y)^2
  double rmse = 0;
  double max_abs = 0;    // max |x - y|
  double snr_db = 0;     // 10 log10(sum x^2 / sum (x - y)^2); +inf when exact
  double cosine = 0;     // x.y / (|x| |y|); 1 when both are zero
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

}  // namespace quantd::quant
