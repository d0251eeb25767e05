#include "server/quant/error_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "test_util.h"

namespace quantd::quant {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

ErrorStats stats_of(const std::vector<float>& x, const std::vector<float>& y) {
  ErrorAccumulator acc;
  acc.add(x.data(), y.data(), static_cast<int64_t>(x.size()));
  return acc.stats();
}

TEST(ErrorStats, KnownValues) {
  // e = [0, 0, -1]; sum x^2 = 14, sum y^2 = 21, x.y = 17.
  const ErrorStats s = stats_of({1, 2, 3}, {1, 2, 4});
  EXPECT_EQ(s.count, 3);
  EXPECT_DOUBLE_EQ(s.mse, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.rmse, std::sqrt(1.0 / 3));
  EXPECT_EQ(s.max_abs, 1.0);
  EXPECT_DOUBLE_EQ(s.snr_db, 10 * std::log10(14.0));
  EXPECT_NEAR(s.snr_db, 11.4613, 1e-4);
  EXPECT_DOUBLE_EQ(s.cosine, 17 / std::sqrt(14.0 * 21.0));
}

TEST(ErrorStats, ExactAndZeroCases) {
  const ErrorStats exact = stats_of({1, -2, 3}, {1, -2, 3});
  EXPECT_EQ(exact.mse, 0);
  EXPECT_EQ(exact.snr_db, kInf);
  EXPECT_DOUBLE_EQ(exact.cosine, 1);

  const ErrorStats zeros = stats_of({0, 0}, {0, 0});
  EXPECT_EQ(zeros.snr_db, kInf);
  EXPECT_EQ(zeros.cosine, 1);
  EXPECT_EQ(zeros.max_abs, 0);

  const ErrorStats x_zero = stats_of({0, 0}, {1, 0});
  EXPECT_EQ(x_zero.cosine, 0);
  EXPECT_EQ(x_zero.snr_db, -kInf);
  EXPECT_EQ(x_zero.mse, 0.5);

  const ErrorStats y_zero = stats_of({1, 0}, {0, 0});
  EXPECT_EQ(y_zero.cosine, 0);
  EXPECT_DOUBLE_EQ(y_zero.snr_db, 0);  // all signal lost: ratio 1

  const ErrorStats opposite = stats_of({1, 2}, {-1, -2});
  EXPECT_DOUBLE_EQ(opposite.cosine, -1);

  const ErrorStats empty = ErrorAccumulator().stats();
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.mse, 0);
  EXPECT_EQ(empty.snr_db, kInf);
  EXPECT_EQ(empty.cosine, 1);
}

TEST(ErrorStats, MergeEqualsSinglePassExactlyOnDyadicValues) {
  // Multiples of 1/8 below 2^10: every sum is exact, so any grouping gives the same bits.
  std::vector<float> x(1001), y(1001);
  for (int i = 0; i < 1001; ++i) {
    x[i] = static_cast<float>((i * 37) % 200 - 100) / 8;
    y[i] = x[i] + static_cast<float>(i % 5 - 2) / 8;
  }
  ErrorAccumulator whole;
  whole.add(x.data(), y.data(), 1001);
  ErrorAccumulator a, b, c;
  a.add(x.data(), y.data(), 333);
  b.add(x.data() + 333, y.data() + 333, 1);
  c.add(x.data() + 334, y.data() + 334, 667);
  a.merge(b);
  a.merge(c);
  const ErrorStats s1 = whole.stats(), s2 = a.stats();
  EXPECT_EQ(s1.count, s2.count);
  EXPECT_EQ(s1.mse, s2.mse);
  EXPECT_EQ(s1.max_abs, s2.max_abs);
  EXPECT_EQ(s1.snr_db, s2.snr_db);
  EXPECT_EQ(s1.cosine, s2.cosine);
  EXPECT_EQ(s1.max_abs, 0.25);
}

TEST(ErrorStats, MergeMatchesSinglePassOnRandomValues) {
  const std::vector<float> x = testing::normal_values(100000, 51);
  std::vector<float> y = testing::normal_values(100000, 52, 0, 0.01f);
  for (size_t i = 0; i < y.size(); ++i) y[i] += x[i];
  ErrorAccumulator whole, parts;
  whole.add(x.data(), y.data(), 100000);
  for (int64_t b = 0; b < 100000; b += 7777) {
    ErrorAccumulator p;
    p.add(x.data() + b, y.data() + b, std::min<int64_t>(7777, 100000 - b));
    parts.merge(p);
  }
  const ErrorStats s1 = whole.stats(), s2 = parts.stats();
  EXPECT_EQ(s1.count, s2.count);
  EXPECT_NEAR(s1.mse, s2.mse, s1.mse * 1e-12);
  EXPECT_EQ(s1.max_abs, s2.max_abs);
  EXPECT_NEAR(s1.snr_db, s2.snr_db, 1e-9);
  EXPECT_NEAR(s1.cosine, s2.cosine, 1e-12);
  // compute_error_stats: the same bits for any thread count, close to the single pass.
  const ErrorStats t1 = compute_error_stats(x.data(), y.data(), 100000, 1);
  const ErrorStats t3 = compute_error_stats(x.data(), y.data(), 100000, 3);
  EXPECT_EQ(t1.mse, t3.mse);
  EXPECT_EQ(t1.snr_db, t3.snr_db);
  EXPECT_EQ(t1.cosine, t3.cosine);
  EXPECT_EQ(t1.max_abs, s1.max_abs);
  EXPECT_NEAR(t1.mse, s1.mse, s1.mse * 1e-12);
}

}  // namespace
}  // namespace quantd::quant
