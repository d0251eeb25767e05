// Per-channel slices on every axis of a 3-D tensor (including the short-run path with
// per-element parameters), per-group slices, checked against brute-force slice ranges.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "test_util.h"

namespace quantd::quant {
namespace {

using testing::dequantize_ok;
using testing::int_spec;
using testing::quantize_ok;

// Brute-force [min, max] of each slice, using the definition in scheme.h.
std::vector<std::pair<float, float>> slice_ranges(const std::vector<float>& x,
                                                  const QuantizedTensor& q) {
  std::vector<std::pair<float, float>> r(q.scales.size(), {FLT_MAX, -FLT_MAX});
  for (size_t i = 0; i < x.size(); ++i) {
    auto& [lo, hi] = r[testing::slice_of(q, static_cast<int64_t>(i))];
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  return r;
}

void check_scales(const std::vector<float>& x, const QuantizedTensor& q) {
  const auto ranges = slice_ranges(x, q);
  for (size_t c = 0; c < ranges.size(); ++c) {
    const auto [lo, hi] = ranges[c];
    if (q.scheme == Scheme::kInt8Symmetric) {
      EXPECT_EQ(q.scales[c], std::max(std::fabs(lo), std::fabs(hi)) / 127.0f) << c;
    } else {  // int8 asymmetric
      const float l = std::min(lo, 0.0f), h = std::max(hi, 0.0f);
      EXPECT_FLOAT_EQ(q.scales[c], (h - l) / 255.0f) << c;
      EXPECT_EQ(q.zero_points[c], static_cast<int32_t>(std::nearbyint(-l / q.scales[c]))) << c;
    }
  }
}

// Each channel gets its own magnitude so a wrong channel mapping changes the scales.
std::vector<float> scaled_by_index(const std::vector<int64_t>& shape, uint32_t seed) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> x = testing::normal_values(n, seed, 0.2f, 1.0f);
  for (int64_t i = 0; i < n; ++i) x[i] *= 1.0f + static_cast<float>((i * 7) % 13);
  return x;
}

TEST(Granularity, PerChannelOnEveryAxisOf3D) {
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{3, 4, 5}, std::vector<int64_t>{3, 4, 20}}) {
    const std::vector<float> x = scaled_by_index(shape, 21);
    for (Scheme s : {Scheme::kInt8Symmetric, Scheme::kInt8Asymmetric}) {
      for (int axis : {0, 1, 2, -1, -2, -3}) {
        const QuantizedTensor q =
            quantize_ok(x, shape, int_spec(s, Granularity::kPerChannel, axis));
        const int norm = axis < 0 ? axis + 3 : axis;
        EXPECT_EQ(q.axis, norm);
        EXPECT_EQ(q.granularity, Granularity::kPerChannel);
        ASSERT_EQ(q.scales.size(), static_cast<size_t>(shape[norm]));
        EXPECT_EQ(q.zero_points.size(), is_symmetric(s) ? 0u : q.scales.size());
        check_scales(x, q);
        const std::vector<float> y = dequantize_ok(q);
        for (size_t i = 0; i < x.size(); ++i) {
          ASSERT_LE(std::fabs(x[i] - y[i]),
                    q.scales[testing::slice_of(q, static_cast<int64_t>(i))] * 0.50001f)
              << "axis " << axis << " i " << i;
        }
      }
    }
  }
}

TEST(Granularity, PerChannelAxisMatters) {
  // Channel 1 along the last axis is 100x larger: only that channel's scale is large.
  std::vector<float> x(2 * 3);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) x[r * 3 + c] = (c == 1 ? 100.0f : 1.0f) * (r + 1);
  }
  const QuantizedTensor q =
      quantize_ok(x, {2, 3}, int_spec(Scheme::kInt8Symmetric, Granularity::kPerChannel, -1));
  EXPECT_EQ(q.scales, (std::vector<float>{2.0f / 127, 200.0f / 127, 2.0f / 127}));
  const QuantizedTensor q0 =
      quantize_ok(x, {2, 3}, int_spec(Scheme::kInt8Symmetric, Granularity::kPerChannel, 0));
  EXPECT_EQ(q0.scales, (std::vector<float>{100.0f / 127, 200.0f / 127}));
}

TEST(Granularity, PerGroup) {
  const std::vector<int64_t> shape = {3, 64};
  const std::vector<float> x = scaled_by_index(shape, 22);
  for (Scheme s : {Scheme::kInt8Symmetric, Scheme::kInt8Asymmetric}) {
    for (int64_t g : {1, 2, 16, 64}) {
      const QuantizedTensor q = quantize_ok(x, shape, int_spec(s, Granularity::kPerGroup, 0, g));
      EXPECT_EQ(q.group_size, g);
      ASSERT_EQ(q.scales.size(), static_cast<size_t>(3 * 64 / g));
      check_scales(x, q);
      const std::vector<float> y = dequantize_ok(q);
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_LE(std::fabs(x[i] - y[i]), q.scales[i / g] * 0.50001f) << "group " << g;
      }
    }
  }
}

TEST(Granularity, PerGroupKnownAnswer) {
  // Groups of 2 (int4 symmetric): [3.5, -7] -> scale 1, codes 4 (even), -7;
  // [14, 1] -> scale 2, codes 7, 0 (0.5 -> 0).
  const std::vector<float> x = {3.5f, -7, 14, 1};
  const QuantizedTensor q =
      quantize_ok(x, {4}, int_spec(Scheme::kInt4Symmetric, Granularity::kPerGroup, 0, 2));
  EXPECT_EQ(q.scales, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(q.data, (std::vector<uint8_t>{0x94, 0x07}));
  EXPECT_EQ(dequantize_ok(q), (std::vector<float>{4, -7, 14, 0}));
}

// The codes from the definition in scheme.h, one value at a time, packed as documented.
std::vector<uint8_t> reference_data(const std::vector<float>& x, const QuantizedTensor& q) {
  const bool sym = is_symmetric(q.scheme);
  const bool int4 = bits_of(q.scheme) == 4;
  const int qmax = int4 ? (sym ? 7 : 15) : (sym ? 127 : 255);
  const int qmin = sym ? -qmax : 0;
  std::vector<uint8_t> data(int4 ? (x.size() + 1) / 2 : x.size(), 0);
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t c = testing::slice_of(q, static_cast<int64_t>(i));
    const float inv = 1.0f / q.scales[c];
    const int zp = sym ? 0 : q.zero_points[c];
    const int code = std::clamp(static_cast<int>(std::nearbyint(x[i] * inv)) + zp, qmin, qmax);
    if (!int4) {
      data[i] = static_cast<uint8_t>(code);
    } else {
      data[i / 2] |= static_cast<uint8_t>((code & 0x0F) << (4 * (i % 2)));
    }
  }
  return data;
}

TEST(Granularity, OddShapesAcrossChunksMatchTheDefinition) {
  // 33761 values: several 16384-value chunks, with runs, rows and groups straddling them.
  const std::vector<int64_t> shape = {7, 13, 371};
  const std::vector<float> x = scaled_by_index(shape, 23);
  struct Case {
    Granularity g;
    int axis;
    int64_t group;
  };
  const Case cases[] = {{Granularity::kPerTensor, 0, 0},  {Granularity::kPerChannel, 0, 0},
                        {Granularity::kPerChannel, 1, 0}, {Granularity::kPerChannel, 2, 0},
                        {Granularity::kPerGroup, 0, 7},   {Granularity::kPerGroup, 0, 53}};
  for (Scheme s : testing::int_schemes()) {
    for (const Case& c : cases) {
      for (int threads : {1, 2}) {
        const QuantizedTensor q = quantize_ok(x, shape, int_spec(s, c.g, c.axis, c.group), threads);
        ASSERT_EQ(q.data, reference_data(x, q))
            << scheme_name(s) << " " << granularity_name(c.g) << " axis " << c.axis;
        const std::vector<float> y = testing::dequantize_ok(q, threads);
        for (size_t i = 0; i < x.size(); ++i) {
          const int64_t sl = testing::slice_of(q, static_cast<int64_t>(i));
          ASSERT_LE(std::fabs(x[i] - y[i]), q.scales[sl] * 0.50001f) << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace quantd::quant
