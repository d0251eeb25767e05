// Every validate() failure: INVALID_ARGUMENT with the field and the value in the message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"

namespace quantd::quant {
namespace {

using testing::int_spec;

void expect_invalid(std::vector<int64_t> shape, const QuantSpec& spec,
                    std::vector<std::string> needles) {
  const absl::Status s = validate(shape, spec);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  for (const std::string& n : needles) {
    EXPECT_NE(s.message().find(n), std::string_view::npos) << "'" << n << "' not in: " << s;
  }
}

QuantSpec block_spec(Scheme s, Granularity g = Granularity::kPerBlock) {
  QuantSpec spec;
  spec.scheme = s;
  spec.granularity = g;
  return spec;
}

TEST(Validate, AcceptsGoodSpecs) {
  EXPECT_TRUE(validate(std::vector<int64_t>{32}, QuantSpec{}).ok());  // the default spec
  EXPECT_TRUE(validate(std::vector<int64_t>{2, 64}, block_spec(Scheme::kQ4_1)).ok());
  EXPECT_TRUE(validate(std::vector<int64_t>{}, int_spec(Scheme::kInt8Symmetric)).ok());
  EXPECT_TRUE(validate(std::vector<int64_t>{2, 3, 4},
                       int_spec(Scheme::kInt4Asymmetric, Granularity::kPerChannel, -3))
                  .ok());
  EXPECT_TRUE(validate(std::vector<int64_t>{2, 3, 4},
                       int_spec(Scheme::kInt4Asymmetric, Granularity::kPerGroup, 0, 4))
                  .ok());
  QuantSpec p = int_spec(Scheme::kInt8Symmetric);
  p.range = RangeMethod::kPercentile;
  p.percentile = 100;
  EXPECT_TRUE(validate(std::vector<int64_t>{5}, p).ok());
  p.range = RangeMethod::kMse;
  p.mse_grid_points = 1000;
  EXPECT_TRUE(validate(std::vector<int64_t>{5}, p).ok());
  p.mse_grid_points = 1;
  EXPECT_TRUE(validate(std::vector<int64_t>{5}, p).ok());
  // Block schemes ignore the range method, so its parameters are not checked.
  QuantSpec b = block_spec(Scheme::kQ8_0);
  b.range = RangeMethod::kPercentile;
  b.percentile = 500;
  EXPECT_TRUE(validate(std::vector<int64_t>{32}, b).ok());
  // Large but representable: 2^62 values.
  EXPECT_TRUE(validate(std::vector<int64_t>{int64_t{1} << 31, int64_t{1} << 31},
                       int_spec(Scheme::kInt8Symmetric))
                  .ok());
}

TEST(Validate, Shape) {
  const QuantSpec spec = int_spec(Scheme::kInt8Symmetric);
  expect_invalid({4, 0, 2}, spec, {"shape[1]", "= 0", "positive"});
  expect_invalid({-3}, spec, {"shape[0]", "-3", "positive"});
  expect_invalid({int64_t{1} << 32, int64_t{1} << 32}, spec, {"shape", "overflow", "int64"});
  expect_invalid({std::numeric_limits<int64_t>::max(), 2}, spec, {"overflow"});
  // A scalar works only for int schemes per tensor.
  expect_invalid({}, block_spec(Scheme::kQ8_0), {"shape", "scalar", "q8_0"});
  expect_invalid({}, int_spec(Scheme::kInt8Symmetric, Granularity::kPerChannel, 0),
                 {"axis = 0", "rank-0"});
  expect_invalid({}, int_spec(Scheme::kInt8Symmetric, Granularity::kPerGroup, 0, 1),
                 {"shape", "scalar"});
}

TEST(Validate, UnknownEnums) {
  QuantSpec spec;
  spec.scheme = static_cast<Scheme>(42);
  expect_invalid({32}, spec, {"scheme = 42", "unknown"});
  spec.scheme = static_cast<Scheme>(-1);
  expect_invalid({32}, spec, {"scheme = -1"});
  spec = int_spec(Scheme::kInt8Symmetric);
  spec.granularity = static_cast<Granularity>(7);
  expect_invalid({32}, spec, {"granularity = 7", "unknown"});
  spec = int_spec(Scheme::kInt8Symmetric);
  spec.range = static_cast<RangeMethod>(9);
  expect_invalid({32}, spec, {"range = 9", "unknown"});
}

TEST(Validate, BlockSchemes) {
  expect_invalid({2, 48}, block_spec(Scheme::kQ4_0), {"shape[1] = 48", "q4_0", "multiple of 32"});
  expect_invalid({64, 31}, block_spec(Scheme::kQ8_0), {"shape[1] = 31"});
  expect_invalid({64}, block_spec(Scheme::kQ5_0, Granularity::kPerChannel),
                 {"granularity = per_channel", "q5_0", "per_block"});
  expect_invalid({64}, block_spec(Scheme::kQ5_1, Granularity::kPerGroup),
                 {"granularity = per_group", "q5_1"});
}

TEST(Validate, IntGranularity) {
  expect_invalid({64}, int_spec(Scheme::kInt8Asymmetric, Granularity::kPerBlock),
                 {"granularity = per_block", "int8_asym"});
  expect_invalid({2, 3, 4}, int_spec(Scheme::kInt8Symmetric, Granularity::kPerChannel, 3),
                 {"axis = 3", "rank-3", "[-3, 2]"});
  expect_invalid({2, 3, 4}, int_spec(Scheme::kInt8Symmetric, Granularity::kPerChannel, -4),
                 {"axis = -4"});
  expect_invalid({2, 12}, int_spec(Scheme::kInt4Symmetric, Granularity::kPerGroup, 0, 0),
                 {"group_size = 0", "positive"});
  expect_invalid({2, 12}, int_spec(Scheme::kInt4Symmetric, Granularity::kPerGroup, 0, -4),
                 {"group_size = -4"});
  expect_invalid({2, 12}, int_spec(Scheme::kInt4Symmetric, Granularity::kPerGroup, 0, 5),
                 {"group_size = 5", "divide", "shape[1] = 12"});
  // The group runs along the last axis only: 24 divides the count but not the last dim.
  expect_invalid({2, 12}, int_spec(Scheme::kInt4Symmetric, Granularity::kPerGroup, 0, 24),
                 {"group_size = 24"});
}

TEST(Validate, RangeParameters) {
  QuantSpec spec = int_spec(Scheme::kInt8Symmetric);
  spec.range = RangeMethod::kPercentile;
  for (double p : {0.0, -1.0, 100.5, std::nan("")}) {
    spec.percentile = p;
    expect_invalid({8}, spec, {"percentile = ", "(0, 100]"});
  }
  spec.percentile = 100.5;
  expect_invalid({8}, spec, {"percentile = 100.5"});
  spec.range = RangeMethod::kMse;
  for (int n : {0, -5, 1001}) {
    spec.mse_grid_points = n;
    expect_invalid({8}, spec, {"mse_grid_points = " + std::to_string(n), "[1, 1000]"});
  }
}

TEST(Quantize, RejectsNonFiniteNamingTheFirstIndex) {
  std::vector<float> x(16, 1.0f);
  x[5] = NAN;
  x[9] = INFINITY;
  for (Scheme s : {Scheme::kQ8_0, Scheme::kInt8Symmetric, Scheme::kInt4Asymmetric}) {
    QuantSpec spec = int_spec(s);
    const int64_t shape[] = {16};
    std::vector<float> y = x;
    y.resize(32, 0.0f);
    const int64_t shape32[] = {32};
    absl::StatusOr<QuantizedTensor> q =
        quantize(kernels::kernels(), y.data(), is_block_scheme(s) ? shape32 : shape, spec, 1);
    ASSERT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(q.status().message().find("x[5]"), std::string_view::npos) << q.status();
  }
  // A large tensor (parallel scan): still the first bad index, for any thread count.
  std::vector<float> big(1 << 18, 0.5f);
  big[200001] = -INFINITY;
  big[100003] = INFINITY;
  const int64_t shape[] = {1 << 18};
  for (int threads : {1, 2, 4}) {
    absl::StatusOr<QuantizedTensor> q =
        quantize(kernels::kernels(), big.data(), shape, int_spec(Scheme::kInt8Symmetric), threads);
    ASSERT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(q.status().message().find("x[100003] = inf"), std::string_view::npos) << q.status();
  }
}

TEST(Quantize, RejectsBadSpecBeforeReadingData) {
  // validate() runs first: a null pointer with a bad shape is never read.
  const int64_t shape[] = {0};
  absl::StatusOr<QuantizedTensor> q =
      quantize(kernels::kernels(), nullptr, shape, int_spec(Scheme::kInt8Symmetric), 1);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quantd::quant
