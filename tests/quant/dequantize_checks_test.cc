// dequantize() on truncated or corrupted QuantizedTensors: INVALID_ARGUMENT, never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace quantd::quant {
namespace {

using testing::int_spec;
using testing::quantize_ok;

absl::Status dequantize_status(const QuantizedTensor& q) {
  // Sized from a sane element count; the checks must fail before any write past it.
  std::vector<float> out(4096, -1.0f);
  return dequantize(kernels::kernels(), q, out.data(), 1);
}

void expect_invalid(const QuantizedTensor& q, const std::string& needle) {
  const absl::Status s = dequantize_status(q);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(needle), std::string_view::npos) << "'" << needle << "' not in: " << s;
}

QuantizedTensor sample(Scheme s, Granularity g = Granularity::kPerTensor, int axis = 0,
                       int64_t group = 0) {
  return quantize_ok(testing::normal_values(3 * 64, 61), {3, 64}, int_spec(s, g, axis, group));
}

TEST(DequantizeChecks, ValidSamplesPass) {
  for (Scheme s : testing::int_schemes()) EXPECT_TRUE(dequantize_status(sample(s)).ok());
  for (Scheme s : testing::block_schemes()) EXPECT_TRUE(dequantize_status(sample(s)).ok());
}

TEST(DequantizeChecks, TruncatedOrOversizedData) {
  for (Scheme s : {Scheme::kInt8Symmetric, Scheme::kInt4Asymmetric, Scheme::kQ4_0, Scheme::kQ8_0}) {
    QuantizedTensor q = sample(s);
    q.data.pop_back();
    expect_invalid(q, "data: ");
    q.data.push_back(0);
    q.data.push_back(0);
    expect_invalid(q, "truncated or corrupted");
    q.data.clear();
    expect_invalid(q, "data: 0 bytes");
  }
  // Int4 with an odd count: ceil(n / 2) bytes.
  QuantizedTensor q = quantize_ok({1, 2, 3}, {3}, int_spec(Scheme::kInt4Symmetric));
  ASSERT_EQ(q.data.size(), 2u);
  q.data.pop_back();
  expect_invalid(q, "data: 1 bytes, expected 2");
}

TEST(DequantizeChecks, Scales) {
  QuantizedTensor q = sample(Scheme::kInt8Asymmetric, Granularity::kPerChannel, 0);
  ASSERT_EQ(q.scales.size(), 3u);
  QuantizedTensor missing = q;
  missing.scales.pop_back();
  expect_invalid(missing, "scales: 2 values, expected 3");
  QuantizedTensor extra = q;
  extra.scales.push_back(1);
  expect_invalid(extra, "scales: 4 values");
  for (float bad : {NAN, INFINITY, -INFINITY, 0.0f, -1.0f}) {
    QuantizedTensor c = q;
    c.scales[1] = bad;
    expect_invalid(c, "scales[1]");
  }
}

TEST(DequantizeChecks, ZeroPoints) {
  QuantizedTensor q = sample(Scheme::kInt8Asymmetric, Granularity::kPerGroup, 0, 32);
  ASSERT_EQ(q.zero_points.size(), 6u);
  QuantizedTensor missing = q;
  missing.zero_points.clear();
  expect_invalid(missing, "zero_points: 0 values, expected 6");
  for (int32_t bad : {-1, 256, 1 << 30}) {
    QuantizedTensor c = q;
    c.zero_points[4] = bad;
    expect_invalid(c, "zero_points[4] = " + std::to_string(bad));
  }
  QuantizedTensor q4 = sample(Scheme::kInt4Asymmetric);
  q4.zero_points[0] = 16;
  expect_invalid(q4, "expected in [0, 15]");
  // Symmetric: none, or all zero.
  QuantizedTensor sym = sample(Scheme::kInt8Symmetric);
  sym.zero_points = {0};
  EXPECT_TRUE(dequantize_status(sym).ok());
  sym.zero_points = {3};
  expect_invalid(sym, "zero_points[0] = 3");
  sym.zero_points = {0, 0};
  expect_invalid(sym, "zero_points: 2 values");
}

TEST(DequantizeChecks, Header) {
  QuantizedTensor q = sample(Scheme::kInt8Symmetric, Granularity::kPerChannel, 1);
  QuantizedTensor c = q;
  c.shape = {3, 0};
  expect_invalid(c, "shape[1]");
  c = q;
  c.axis = 5;
  expect_invalid(c, "axis = 5");
  c = q;
  c.scheme = static_cast<Scheme>(77);
  expect_invalid(c, "scheme = 77");
  c = q;
  c.granularity = Granularity::kPerGroup;  // group_size 0
  expect_invalid(c, "group_size = 0");
  c = q;
  c.shape = {int64_t{1} << 40, int64_t{1} << 40};
  expect_invalid(c, "overflow");
  // A shape that claims more values than data: caught by the size check.
  c = q;
  c.shape = {3, 1 << 20};
  expect_invalid(c, "data: ");
}

TEST(DequantizeChecks, BlockSchemes) {
  QuantizedTensor q = sample(Scheme::kQ4_1);
  QuantizedTensor c = q;
  c.scales = {1.0f};
  expect_invalid(c, "expected none");
  c = q;
  c.granularity = Granularity::kPerChannel;
  expect_invalid(c, "granularity = per_channel");
  c = q;
  c.shape = {3, 48};
  expect_invalid(c, "multiple of 32");
  // A corrupted fp16 scale (Inf) in block 4, and a NaN minimum in block 5.
  c = q;
  c.data[4 * 20 + 0] = 0x00;
  c.data[4 * 20 + 1] = 0x7C;
  expect_invalid(c, "block 4");
  c = q;
  c.data[5 * 20 + 2] = 0x01;
  c.data[5 * 20 + 3] = 0xFE;
  expect_invalid(c, "block 5");
  QuantizedTensor q8 = sample(Scheme::kQ8_0);
  q8.data[2 * 34 + 1] = 0xFF;  // sign + all-ones exponent
  expect_invalid(q8, "block 2");
}

TEST(DequantizeChecks, RandomCorruptionsNeverCrash) {
  // Valid tensors with one random field broken: either rejected, or (a benign change such as
  // a reshape or a new scale value) decoded into a buffer of the size the shape implies.
  std::mt19937 rng(81);
  const std::vector<Scheme> schemes = {Scheme::kInt8Symmetric, Scheme::kInt8Asymmetric,
                                       Scheme::kInt4Symmetric, Scheme::kInt4Asymmetric,
                                       Scheme::kQ4_1,          Scheme::kQ8_0};
  int rejected = 0;
  for (int iter = 0; iter < 600; ++iter) {
    const Scheme s = schemes[iter % schemes.size()];
    const Granularity g =
        is_block_scheme(s) ? Granularity::kPerBlock : static_cast<Granularity>(iter % 3);
    QuantizedTensor q = quantize_ok(testing::normal_values(2 * 3 * 64, iter), {2, 3, 64},
                                    int_spec(s, g, iter % 3, 16));
    auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
    switch (pick(8)) {
      case 0:
        q.shape[pick(3)] = static_cast<int64_t>(rng()) - (1u << 31);
        break;
      case 1:
        q.shape = {static_cast<int64_t>(rng()), static_cast<int64_t>(rng()) << 20};
        break;
      case 2:
        q.data.resize(pick(static_cast<int64_t>(q.data.size()) + 64));
        break;
      case 3:
        q.scales.resize(pick(64));
        break;
      case 4:
        if (!q.scales.empty()) q.scales[pick(q.scales.size())] = std::ldexp(1.0f, pick(300) - 150);
        break;
      case 5:
        q.zero_points.resize(pick(64), static_cast<int32_t>(rng()));
        break;
      case 6:
        q.axis = static_cast<int>(pick(9)) - 4;
        q.group_size = pick(200) - 10;
        break;
      case 7:
        q.granularity = static_cast<Granularity>(pick(6));
        break;
    }
    int64_t count = 0;
    const bool shape_ok =
        validate(q.shape, int_spec(q.scheme, q.granularity, q.axis, q.group_size)).ok();
    if (shape_ok) count = element_count(q.shape);
    // A shape larger than the data can never pass the size check; give it a small buffer.
    std::vector<float> out(
        static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(count, 1), 1 << 20)));
    const absl::Status st = dequantize(kernels::kernels(), q, out.data(), 1);
    if (!st.ok()) {
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
      ++rejected;
    } else {
      EXPECT_LE(count, 1 << 20);
    }
  }
  EXPECT_GT(rejected, 300);
}

}  // namespace
}  // namespace quantd::quant
