// Hand-worked answers: ranges are chosen so that the scale is exact (1 or 2) and every code
// follows from the rounding rule (half to even) alone.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

#include "test_util.h"

namespace quantd::quant {
namespace {

using testing::dequantize_ok;
using testing::int_spec;
using testing::quantize_ok;

std::vector<int8_t> as_int8(const std::vector<uint8_t>& d) {
  return std::vector<int8_t>(d.begin(), d.end());
}

TEST(IntKnownAnswer, Int8SymmetricScaleOne) {
  const std::vector<float> x = {-127, 127, 0.5f, 1.5f, -2.5f, 3.2f};
  const QuantizedTensor q = quantize_ok(x, {6}, int_spec(Scheme::kInt8Symmetric));
  ASSERT_EQ(q.scales.size(), 1u);
  EXPECT_EQ(q.scales[0], 1.0f);
  EXPECT_TRUE(q.zero_points.empty());
  EXPECT_EQ(as_int8(q.data), (std::vector<int8_t>{-127, 127, 0, 2, -2, 3}));
  EXPECT_EQ(dequantize_ok(q), (std::vector<float>{-127, 127, 0, 2, -2, 3}));
}

TEST(IntKnownAnswer, Int8SymmetricScaleTwo) {
  // absmax 254: scale 2; 5 / 2 = 2.5 -> 2, 7 / 2 = 3.5 -> 4, -3 / 2 = -1.5 -> -2.
  const std::vector<float> x = {254, 5, 7, -3, 0};
  const QuantizedTensor q = quantize_ok(x, {5}, int_spec(Scheme::kInt8Symmetric));
  EXPECT_EQ(q.scales, std::vector<float>{2.0f});
  EXPECT_EQ(as_int8(q.data), (std::vector<int8_t>{127, 2, 4, -2, 0}));
  EXPECT_EQ(dequantize_ok(q), (std::vector<float>{254, 4, 8, -4, 0}));
}

TEST(IntKnownAnswer, Int8Asymmetric) {
  // [-51, 204]: scale 255 / 255 = 1, zero point round(51 / 1) = 51.
  const std::vector<float> x = {-51, 204, 0.5f, 1.5f, -2.5f, 0};
  const QuantizedTensor q = quantize_ok(x, {6}, int_spec(Scheme::kInt8Asymmetric));
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_EQ(q.zero_points, std::vector<int32_t>{51});
  EXPECT_EQ(q.data, (std::vector<uint8_t>{0, 255, 51, 53, 49, 51}));
  EXPECT_EQ(dequantize_ok(q), (std::vector<float>{-51, 204, 0, 2, -2, 0}));
}

TEST(IntKnownAnswer, Int8AsymmetricRangeExtendedToZero) {
  // All positive: the range becomes [0, 255], so zero point 0 and 0 stays exact.
  const std::vector<float> x = {2, 255, 100.5f};
  const QuantizedTensor q = quantize_ok(x, {3}, int_spec(Scheme::kInt8Asymmetric));
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_EQ(q.zero_points, std::vector<int32_t>{0});
  EXPECT_EQ(q.data, (std::vector<uint8_t>{2, 255, 100}));
  // All negative: [-255, 0], zero point 255.
  const std::vector<float> y = {-2, -255, -100.5f};
  const QuantizedTensor qn = quantize_ok(y, {3}, int_spec(Scheme::kInt8Asymmetric));
  EXPECT_EQ(qn.scales, std::vector<float>{1.0f});
  EXPECT_EQ(qn.zero_points, std::vector<int32_t>{255});
  EXPECT_EQ(qn.data, (std::vector<uint8_t>{253, 0, 155}));  // -100.5 -> -100 (even)
}

TEST(IntKnownAnswer, Int8AsymmetricInexactScale) {
  // [-1, 3]: scale 4/255, zero point round(63.75) = 64; 3 -> round(191.25) + 64 = 255.
  const std::vector<float> x = {-1, 3, 0};
  const QuantizedTensor q = quantize_ok(x, {3}, int_spec(Scheme::kInt8Asymmetric));
  EXPECT_FLOAT_EQ(q.scales[0], 4.0f / 255.0f);
  EXPECT_EQ(q.zero_points, std::vector<int32_t>{64});
  EXPECT_EQ(q.data, (std::vector<uint8_t>{0, 255, 64}));
  EXPECT_EQ(dequantize_ok(q)[2], 0.0f);  // zero is exact
}

TEST(IntKnownAnswer, Int4SymmetricPacksTwosComplementNibbles) {
  // absmax 7: scale 1; codes 7, -7, 2, -4, 0, 7 (6.6 -> 7).
  const std::vector<float> x = {7, -7, 2.5f, -3.5f, 0.5f, 6.6f};
  const QuantizedTensor q = quantize_ok(x, {6}, int_spec(Scheme::kInt4Symmetric));
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_TRUE(q.zero_points.empty());
  // Low nibble = even index: 7 | (-7 = 0x9) << 4, 2 | (-4 = 0xC) << 4, 0 | 7 << 4.
  EXPECT_EQ(q.data, (std::vector<uint8_t>{0x97, 0xC2, 0x70}));
  EXPECT_EQ(dequantize_ok(q), (std::vector<float>{7, -7, 2, -4, 0, 7}));
}

TEST(IntKnownAnswer, Int4OddCountLeavesHighNibbleZero) {
  const std::vector<float> x = {7, -1, -3};
  const QuantizedTensor q = quantize_ok(x, {3}, int_spec(Scheme::kInt4Symmetric));
  EXPECT_EQ(q.data, (std::vector<uint8_t>{0xF7, 0x0D}));
  EXPECT_EQ(dequantize_ok(q), (std::vector<float>{7, -1, -3}));
}

TEST(IntKnownAnswer, Int4Asymmetric) {
  // [-5, 10]: scale 1, zero point 5; codes 0, 15, 5 (0.5 -> 0), 7 (2.5 -> 2), 3 (-1.5 -> -2).
  const std::vector<float> x = {-5, 10, 0.5f, 2.5f, -1.5f};
  const QuantizedTensor q = quantize_ok(x, {5}, int_spec(Scheme::kInt4Asymmetric));
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_EQ(q.zero_points, std::vector<int32_t>{5});
  EXPECT_EQ(q.data, (std::vector<uint8_t>{0xF0, 0x75, 0x03}));
  EXPECT_EQ(dequantize_ok(q), (std::vector<float>{-5, 10, 0, 2, -2}));
}

TEST(IntKnownAnswer, ZeroRangeGivesScaleOneAndExactZeros) {
  const std::vector<float> x(10, 0.0f);
  for (Scheme s : testing::int_schemes()) {
    const QuantizedTensor q = quantize_ok(x, {10}, int_spec(s));
    EXPECT_EQ(q.scales, std::vector<float>{1.0f}) << scheme_name(s);
    if (!is_symmetric(s)) {
      EXPECT_EQ(q.zero_points, std::vector<int32_t>{0});
    }
    for (uint8_t b : q.data) EXPECT_EQ(b, 0) << scheme_name(s);
    EXPECT_EQ(dequantize_ok(q), x) << scheme_name(s);
  }
}

TEST(IntKnownAnswer, TinyRangeKeepsAFiniteInverse) {
  // absmax / 127 would be subnormal: the scale is floored at FLT_MIN.
  const std::vector<float> x = {1e-40f, -2e-40f, 0};
  for (Scheme s : testing::int_schemes()) {
    const QuantizedTensor q = quantize_ok(x, {3}, int_spec(s));
    EXPECT_EQ(q.scales[0], FLT_MIN) << scheme_name(s);
    const std::vector<float> y = dequantize_ok(q);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_LE(std::fabs(x[i] - y[i]), FLT_MIN / 2) << scheme_name(s) << " " << i;
    }
  }
}

TEST(IntKnownAnswer, HugeRangeStaysFinite) {
  // hi - lo overflows float; computed in double.
  const std::vector<float> x = {3e38f, -3e38f, 1e38f};
  for (Scheme s : testing::int_schemes()) {
    const QuantizedTensor q = quantize_ok(x, {3}, int_spec(s));
    ASSERT_TRUE(std::isfinite(q.scales[0])) << scheme_name(s);
    const std::vector<float> y = dequantize_ok(q);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(std::isfinite(y[i])) << scheme_name(s);
      EXPECT_LE(std::fabs(x[i] - y[i]), q.scales[0] * 0.5001f) << scheme_name(s) << " " << i;
    }
  }
}

TEST(IntKnownAnswer, ScalarShapeIsOneValue) {
  const std::vector<float> x = {2.54f};
  const QuantizedTensor q = quantize_ok(x, {}, int_spec(Scheme::kInt8Symmetric));
  EXPECT_TRUE(q.shape.empty());
  EXPECT_FLOAT_EQ(q.scales[0], 2.54f / 127);
  EXPECT_EQ(as_int8(q.data), std::vector<int8_t>{127});
  EXPECT_FLOAT_EQ(dequantize_ok(q)[0], 2.54f);
}

}  // namespace
}  // namespace quantd::quant
