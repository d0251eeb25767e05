// Results must not depend on the thread count: tensors above the parallel threshold,
// on every code path (chunks, groups, channel runs, per-element rows, few/many slices).
#include <gtest/gtest.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "test_util.h"

namespace quantd::quant {
namespace {

using testing::int_spec;

struct Case {
  std::vector<int64_t> shape;
  Granularity g;
  int axis;
  int64_t group;
};

TEST(Threads, SameResultForAnyThreadCount) {
  const int64_t n = int64_t{1} << 17;
  std::vector<float> x = testing::normal_values(n, 71, 0.1f, 2.0f);
  for (int64_t i = 0; i < n; i += 4099) x[i] *= 20;  // outliers so clipping matters
  const Case cases[] = {
      {{n}, Granularity::kPerTensor, 0, 0},
      {{256, 512}, Granularity::kPerChannel, 0, 0},     // many long runs
      {{256, 512}, Granularity::kPerChannel, -1, 0},    // per-element rows
      {{2, 65536}, Granularity::kPerChannel, 0, 0},     // fewer channels than threads
      {{32768, 2, 2}, Granularity::kPerChannel, 1, 0},  // few channels, short runs
      {{64, 2048}, Granularity::kPerGroup, 0, 128},
  };
  for (const Case& c : cases) {
    for (Scheme s : testing::int_schemes()) {
      for (RangeMethod r : {RangeMethod::kMinMax, RangeMethod::kPercentile, RangeMethod::kMse}) {
        QuantSpec spec = int_spec(s, c.g, c.axis, c.group);
        spec.range = r;
        spec.percentile = 99.5;
        spec.mse_grid_points = 8;
        const std::string what =
            absl::StrCat(std::string(scheme_name(s)), " ", std::string(granularity_name(c.g)),
                         " axis ", c.axis, " ", std::string(range_method_name(r)));
        const QuantizedTensor q1 = testing::quantize_ok(x, c.shape, spec, 1);
        std::vector<float> y1 = testing::dequantize_ok(q1, 1);
        for (int threads : {2, 3}) {
          const QuantizedTensor qt = testing::quantize_ok(x, c.shape, spec, threads);
          ASSERT_EQ(q1.scales, qt.scales) << what << " threads " << threads;
          ASSERT_EQ(q1.zero_points, qt.zero_points) << what;
          ASSERT_EQ(q1.data, qt.data) << what;
          ASSERT_EQ(y1, testing::dequantize_ok(qt, threads)) << what;
          std::vector<float> fake(x.size());
          ErrorStats st;
          ASSERT_TRUE(
              fake_quantize(kernels::kernels(), x.data(), c.shape, spec, fake.data(), threads, &st)
                  .ok());
          ASSERT_EQ(fake, y1) << what;
          const ErrorStats s1 = compute_error_stats(x.data(), y1.data(), n, 1);
          EXPECT_EQ(st.mse, s1.mse) << what;
          EXPECT_EQ(st.cosine, s1.cosine) << what;
        }
      }
    }
  }
}

TEST(Threads, BlockSchemesSameBytes) {
  const int64_t n = int64_t{1} << 17;
  const std::vector<float> x = testing::normal_values(n, 72);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{n}, std::vector<int64_t>{1024, 128}}) {
    for (Scheme s : testing::block_schemes()) {
      const QuantizedTensor q1 = testing::quantize_ok(x, shape, int_spec(s), 1);
      const QuantizedTensor q4 = testing::quantize_ok(x, shape, int_spec(s), 4);
      ASSERT_EQ(q1.data, q4.data) << scheme_name(s);
      ASSERT_EQ(testing::dequantize_ok(q1, 1), testing::dequantize_ok(q4, 4)) << scheme_name(s);
    }
  }
}

}  // namespace
}  // namespace quantd::quant
