// Range calibration: percentile clipping and the MSE grid search.
#include "server/quant/range.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "server/quant/select.h"
#include "test_util.h"

namespace quantd::quant {
namespace {

using testing::dequantize_ok;
using testing::int_spec;
using testing::quantize_ok;

float percentile(std::vector<float> v, double p) {
  return internal::percentile_of(v.data(), static_cast<int64_t>(v.size()), p);
}

TEST(Percentile, LinearInterpolationBetweenOrderStatistics) {
  const std::vector<float> v = {4, 1, 3, 2};
  EXPECT_EQ(percentile(v, 100), 4.0f);
  EXPECT_EQ(percentile(v, 50), 2.5f);   // position 1.5
  EXPECT_EQ(percentile(v, 25), 1.75f);  // position 0.75
  EXPECT_EQ(percentile(v, 0), 1.0f);
  EXPECT_EQ(percentile({7}, 99), 7.0f);
  EXPECT_EQ(percentile({5, 5, 5}, 30), 5.0f);
}

TEST(Percentile, RadixSelectionIsExact) {
  // Ties, zeros of both signs, negatives, a narrow cluster (one bucket) and wide values.
  std::vector<float> v = testing::normal_values(300000, 33, 0, 50);
  for (size_t i = 0; i < v.size(); i += 7) v[i] = 1.0f + static_cast<float>(i % 3) * 1e-7f;
  for (size_t i = 3; i < v.size(); i += 101) v[i] = (i % 2) ? -0.0f : 0.0f;
  v[17] = -3e38f;
  v[18] = 3e38f;
  const int64_t m = static_cast<int64_t>(v.size());
  for (bool absolute : {false, true}) {
    std::vector<float> sorted = v;
    if (absolute) {
      for (float& x : sorted) x = std::fabs(x);
    }
    std::sort(sorted.begin(), sorted.end());
    const std::vector<int64_t> ranks = {0, 1, m / 7, m / 2, m / 2 + 1, m - 2, m - 1};
    for (int threads : {1, 2}) {
      std::vector<float> got(ranks.size());
      internal::order_statistics(v.data(), m, absolute, ranks, got.data(), threads);
      for (size_t r = 0; r < ranks.size(); ++r) {
        EXPECT_EQ(got[r], sorted[ranks[r]]) << "rank " << ranks[r] << " absolute " << absolute;
      }
    }
  }
}

TEST(Percentile, LargeSlicesMatchSmallSlicePath) {
  // Per tensor (2^20 values, radix path) against per channel with one channel per row, each
  // row taken alone (nth_element path): the same percentile of the same values.
  const int64_t m = internal::kRadixSelectMinValues;
  std::vector<float> x = testing::normal_values(m, 34);
  x[5] = 60;
  for (Scheme s : {Scheme::kInt8Symmetric, Scheme::kInt8Asymmetric}) {
    QuantSpec spec = int_spec(s);
    spec.range = RangeMethod::kPercentile;
    spec.percentile = 99.7;
    const QuantizedTensor big = quantize_ok(x, {m}, spec, 2);
    std::vector<float> copy = x;
    float expect_hi, expect_lo;
    if (is_symmetric(s)) {
      for (float& v : copy) v = std::fabs(v);
      expect_hi = internal::percentile_of(copy.data(), m, 99.7);
      EXPECT_EQ(big.scales[0], internal::params_for_range(s, -expect_hi, expect_hi).scale);
    } else {
      expect_lo = internal::percentile_of(copy.data(), m, 100 - 99.7);
      expect_hi = internal::percentile_of(copy.data(), m, 99.7);
      const internal::IntParams p = internal::params_for_range(s, expect_lo, expect_hi);
      EXPECT_EQ(big.scales[0], p.scale) << scheme_name(s);
      EXPECT_EQ(big.zero_points[0], p.zero_point) << scheme_name(s);
    }
  }
}

std::vector<float> with_outlier(int64_t n, uint32_t seed) {
  std::vector<float> x = testing::uniform_values(n, seed, -1, 1);
  x[n / 3] = 100;
  return x;
}

TEST(Percentile, ClippingReducesTheScaleOnAnOutlier) {
  const std::vector<float> x = with_outlier(1000, 31);
  for (Scheme s : testing::int_schemes()) {
    const QuantizedTensor minmax = quantize_ok(x, {1000}, int_spec(s));
    QuantSpec spec = int_spec(s);
    spec.range = RangeMethod::kPercentile;
    spec.percentile = 99;
    const QuantizedTensor clipped = quantize_ok(x, {1000}, spec);
    EXPECT_LT(clipped.scales[0], minmax.scales[0] / 40) << scheme_name(s);
    // The clipped values lose, the bulk gains: lower error overall.
    const std::vector<float> ym = dequantize_ok(minmax), yc = dequantize_ok(clipped);
    const ErrorStats em = compute_error_stats(x.data(), ym.data(), 1000, 1);
    const ErrorStats ec = compute_error_stats(x.data(), yc.data(), 1000, 1);
    EXPECT_GT(ec.max_abs, em.max_abs) << scheme_name(s);  // the outlier is clipped
  }
}

TEST(Percentile, SymmetricUsesAbsoluteValues) {
  // |x| sorted: 1 .. 10 then 100; the 90th percentile is at position 9: 10.
  std::vector<float> x;
  for (int i = 1; i <= 10; ++i) x.push_back(i % 2 ? -static_cast<float>(i) : i);
  x.push_back(-100);
  QuantSpec spec = int_spec(Scheme::kInt8Symmetric);
  spec.range = RangeMethod::kPercentile;
  spec.percentile = 90;
  const QuantizedTensor q = quantize_ok(x, {11}, spec);
  EXPECT_EQ(q.scales[0], 10.0f / 127);
  EXPECT_EQ(static_cast<int8_t>(q.data[10]), -127);  // the outlier clamps
}

TEST(Percentile, AsymmetricUsesBothTails) {
  // 11 values; p = 90: lower percentile 10 at position 1 (-51), upper at position 9 (204).
  const std::vector<float> x = {500, -51, 0, 10, 20, 30, 204, 40, 50, 60, -100};
  QuantSpec spec = int_spec(Scheme::kInt8Asymmetric);
  spec.range = RangeMethod::kPercentile;
  spec.percentile = 90;
  const QuantizedTensor q = quantize_ok(x, {11}, spec);
  EXPECT_EQ(q.scales[0], 1.0f);
  EXPECT_EQ(q.zero_points[0], 51);
  EXPECT_EQ(q.data[0], 255);  // 500 clamps high
  EXPECT_EQ(q.data[10], 0);   // -100 clamps low
  EXPECT_EQ(q.data[3], 61);   // 10 + 51
  // p below 50 names the same pair of tails.
  spec.percentile = 10;
  const QuantizedTensor q10 = quantize_ok(x, {11}, spec);
  EXPECT_EQ(q10.scales, q.scales);
  EXPECT_EQ(q10.data, q.data);
}

TEST(Percentile, HundredIsMinMax) {
  const std::vector<int64_t> shape = {4, 50};
  const std::vector<float> x = testing::normal_values(200, 32);
  for (Scheme s : testing::int_schemes()) {
    for (Granularity g : {Granularity::kPerTensor, Granularity::kPerChannel}) {
      QuantSpec spec = int_spec(s, g, 1);
      const QuantizedTensor a = quantize_ok(x, shape, spec);
      spec.range = RangeMethod::kPercentile;
      spec.percentile = 100;
      const QuantizedTensor b = quantize_ok(x, shape, spec);
      EXPECT_EQ(a.scales, b.scales) << scheme_name(s);
      EXPECT_EQ(a.zero_points, b.zero_points) << scheme_name(s);
      EXPECT_EQ(a.data, b.data) << scheme_name(s);
    }
  }
}

double mse_of(const std::vector<float>& x, const std::vector<int64_t>& shape,
              const QuantSpec& spec) {
  const std::vector<float> y = dequantize_ok(quantize_ok(x, shape, spec));
  return compute_error_stats(x.data(), y.data(), static_cast<int64_t>(x.size()), 1).mse;
}

TEST(MseSearch, NeverWorseThanMinMax) {
  const std::vector<int64_t> shape = {8, 128};
  std::vector<float> heavy = testing::normal_values(1024, 41);
  for (int i = 0; i < 1024; i += 97) heavy[i] *= 12;  // heavy tails
  const std::vector<float> data[] = {heavy, testing::uniform_values(1024, 42, -1, 1),
                                     testing::normal_values(1024, 43, 3, 0.5f)};
  for (const std::vector<float>& x : data) {
    for (Scheme s : testing::int_schemes()) {
      for (Granularity g :
           {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
        QuantSpec spec = int_spec(s, g, 1, 32);
        const double minmax = mse_of(x, shape, spec);
        spec.range = RangeMethod::kMse;
        for (int grid : {1, 10, 50}) {
          spec.mse_grid_points = grid;
          EXPECT_LE(mse_of(x, shape, spec), minmax)
              << scheme_name(s) << " " << granularity_name(g) << " grid " << grid;
        }
      }
    }
  }
}

TEST(MseSearch, ClipsHeavyTails) {
  // One outlier among 4096 gaussian values: int4 min-max wastes its 15 levels on it.
  std::vector<float> x = testing::normal_values(4096, 44);
  x[100] = 40;
  for (Scheme s : {Scheme::kInt4Symmetric, Scheme::kInt4Asymmetric}) {
    QuantSpec spec = int_spec(s);
    const QuantizedTensor minmax = quantize_ok(x, {4096}, spec);
    const double minmax_err = mse_of(x, {4096}, spec);
    spec.range = RangeMethod::kMse;
    const QuantizedTensor searched = quantize_ok(x, {4096}, spec);
    EXPECT_LT(searched.scales[0], minmax.scales[0]) << scheme_name(s);
    EXPECT_LT(mse_of(x, {4096}, spec), minmax_err * 0.9) << scheme_name(s);
  }
}

TEST(MseSearch, ScaleComesFromTheGrid) {
  // Symmetric: the chosen scale is absmax * ratio / 7 for a ratio 1 - k / (2n).
  std::vector<float> x = testing::normal_values(512, 45);
  x[0] = 30;
  QuantSpec spec = int_spec(Scheme::kInt4Symmetric);
  spec.range = RangeMethod::kMse;
  spec.mse_grid_points = 4;  // ratios 1, .875, .75, .625, .5
  const QuantizedTensor q = quantize_ok(x, {512}, spec);
  bool on_grid = false;
  for (int k = 0; k <= 4; ++k) {
    const float ratio = static_cast<float>(1.0 - 0.5 * k / 4);
    on_grid |= q.scales[0] == (30.0f * ratio) / 7.0f;
  }
  EXPECT_TRUE(on_grid) << q.scales[0];
}

}  // namespace
}  // namespace quantd::quant
