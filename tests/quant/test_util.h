// Shared helpers for the quant tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "quantd/kernels/kernels.h"
#include "server/quant/quantize.h"

namespace quantd::quant::testing {

inline const std::vector<Scheme>& int_schemes() {
  static const std::vector<Scheme> s = {Scheme::kInt8Symmetric, Scheme::kInt8Asymmetric,
                                        Scheme::kInt4Symmetric, Scheme::kInt4Asymmetric};
  return s;
}

inline const std::vector<Scheme>& block_schemes() {
  static const std::vector<Scheme> s = {Scheme::kQ4_0, Scheme::kQ4_1, Scheme::kQ5_0, Scheme::kQ5_1,
                                        Scheme::kQ8_0};
  return s;
}

inline std::vector<float> normal_values(int64_t n, uint32_t seed, float mean = 0,
                                        float stddev = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<float> uniform_values(int64_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

inline QuantSpec int_spec(Scheme s, Granularity g = Granularity::kPerTensor, int axis = 0,
                          int64_t group = 0) {
  QuantSpec spec;
  spec.scheme = s;
  spec.granularity = g;
  spec.axis = axis;
  spec.group_size = group;
  return spec;
}

// quantize() with the active kernel table; fails the test on error.
inline QuantizedTensor quantize_ok(const std::vector<float>& x, std::vector<int64_t> shape,
                                   const QuantSpec& spec, int threads = 1) {
  absl::StatusOr<QuantizedTensor> q = quantize(kernels::kernels(), x.data(), shape, spec, threads);
  EXPECT_TRUE(q.ok()) << q.status();
  return q.ok() ? *std::move(q) : QuantizedTensor{};
}

inline std::vector<float> dequantize_ok(const QuantizedTensor& q, int threads = 1) {
  std::vector<float> out(static_cast<size_t>(element_count(q.shape)));
  absl::Status s = dequantize(kernels::kernels(), q, out.data(), threads);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// The slice (scale index) of flat index i under the tensor's granularity.
inline int64_t slice_of(const QuantizedTensor& q, int64_t i) {
  switch (q.granularity) {
    case Granularity::kPerChannel: {
      int64_t inner = 1;
      for (size_t d = q.axis + 1; d < q.shape.size(); ++d) inner *= q.shape[d];
      return (i / inner) % q.shape[q.axis];
    }
    case Granularity::kPerGroup:
      return i / q.group_size;
    default:
      return 0;
  }
}

}  // namespace quantd::quant::testing
