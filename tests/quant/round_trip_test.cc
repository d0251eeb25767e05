// Round trips: int schemes within half a step of their slice's scale; block schemes exactly
// what the scalar kernel reference produces; fake-quant identical to quantize + dequantize.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/fp16.h"
#include "test_util.h"

namespace quantd::quant {
namespace {

using testing::dequantize_ok;
using testing::int_spec;
using testing::quantize_ok;

struct Case {
  Granularity g;
  int axis;
  int64_t group;
};

std::string label(Scheme s, const Case& c) {
  return absl::StrCat(std::string(scheme_name(s)), " ", std::string(granularity_name(c.g)),
                      " axis ", c.axis, " group ", c.group);
}

TEST(RoundTrip, IntMinMaxWithinHalfAStep) {
  const std::vector<int64_t> shape = {6, 8, 64};
  const std::vector<float> data[] = {
      testing::normal_values(6 * 8 * 64, 1, 0.3f, 2.0f),
      testing::uniform_values(6 * 8 * 64, 2, 0.5f, 9.0f),  // all positive
      testing::uniform_values(6 * 8 * 64, 3, -1e-3f, 1e-3f),
  };
  const Case cases[] = {{Granularity::kPerTensor, 0, 0},  {Granularity::kPerChannel, 0, 0},
                        {Granularity::kPerChannel, 1, 0}, {Granularity::kPerChannel, -1, 0},
                        {Granularity::kPerGroup, 0, 16},  {Granularity::kPerGroup, 0, 64}};
  for (const std::vector<float>& x : data) {
    for (Scheme s : testing::int_schemes()) {
      for (const Case& c : cases) {
        const QuantizedTensor q = quantize_ok(x, shape, int_spec(s, c.g, c.axis, c.group));
        const std::vector<float> y = dequantize_ok(q);
        for (size_t i = 0; i < x.size(); ++i) {
          const float scale = q.scales[testing::slice_of(q, static_cast<int64_t>(i))];
          // Half a step, plus float rounding of x / scale and of the product.
          ASSERT_LE(std::fabs(x[i] - y[i]), scale * 0.5f * (1 + 1e-5f))
              << label(s, c) << " i " << i << " x " << x[i] << " y " << y[i];
        }
      }
    }
  }
}

TEST(RoundTrip, BlockSchemesMatchTheScalarReference) {
  const kernels::KernelTable* ref = kernels::kernels_for(kernels::Isa::kScalar);
  ASSERT_NE(ref, nullptr);
  const std::vector<int64_t> shape = {5, 3, 96};
  std::vector<float> x = testing::normal_values(5 * 3 * 96, 11, 0, 3);
  x[7] = 0;  // a few edge values
  x[100] = -40;
  for (int j = 32; j < 64; ++j) x[j] = 1.25f;  // a constant block
  for (Scheme s : testing::block_schemes()) {
    const kernels::FormatInfo* info = kernels::find_format(scheme_name(s));
    ASSERT_NE(info, nullptr);
    const kernels::Format f = info->format;
    QuantSpec spec;
    spec.scheme = s;  // default granularity kPerTensor: accepted as per block
    const QuantizedTensor q = quantize_ok(x, shape, spec);
    EXPECT_EQ(q.granularity, Granularity::kPerBlock);
    EXPECT_TRUE(q.scales.empty());
    // Row by row through the reference: the same bytes.
    const int64_t rows = 15, cols = 96;
    std::vector<uint8_t> expect(kernels::row_bytes(*info, cols) * rows);
    for (int64_t r = 0; r < rows; ++r) {
      (*ref)[f].quantize_row(x.data() + r * cols,
                             expect.data() + r * kernels::row_bytes(*info, cols), cols);
    }
    ASSERT_EQ(q.data, expect) << scheme_name(s);
    std::vector<float> expect_y(x.size());
    (*ref)[f].dequantize_row(expect.data(), expect_y.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(dequantize_ok(q), expect_y) << scheme_name(s);
    // And the error is that of a 4/5/8-bit grid over each block's range.
    const double steps = s == Scheme::kQ8_0                           ? 127
                         : (s == Scheme::kQ5_0 || s == Scheme::kQ5_1) ? 15
                                                                      : 7;
    for (int64_t b = 0; b < static_cast<int64_t>(x.size()) / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      for (int j = 0; j < 32; ++j) {
        ASSERT_LE(std::fabs(x[b * 32 + j] - expect_y[b * 32 + j]), amax / steps * 1.01 + 1e-6)
            << scheme_name(s) << " block " << b;
      }
    }
  }
}

TEST(RoundTrip, BlockValuesBeyondFp16ScaleAreRejected) {
  std::vector<float> x(64, 1.0f);
  x[40] = 1e10f;  // q8_0 scale 1e10 / 127 > 65504
  QuantSpec spec;
  spec.scheme = Scheme::kQ8_0;
  const int64_t shape[] = {64};
  absl::StatusOr<QuantizedTensor> q = quantize(kernels::kernels(), x.data(), shape, spec, 1);
  ASSERT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(q.status().message().find("block 1"), std::string_view::npos) << q.status();
  // Q4_1 stores the block minimum in fp16 too.
  std::vector<float> y(32, 0.0f);
  y[3] = -1e6f;
  spec.scheme = Scheme::kQ4_1;
  const int64_t shape32[] = {32};
  q = quantize(kernels::kernels(), y.data(), shape32, spec, 1);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument) << q.status();
}

TEST(RoundTrip, FakeQuantizeEqualsQuantizeThenDequantize) {
  const std::vector<int64_t> shape = {4, 6, 32};
  const std::vector<float> x = testing::normal_values(4 * 6 * 32, 5, 0.1f, 1.5f);
  std::vector<QuantSpec> specs;
  for (Scheme s : testing::block_schemes()) specs.push_back(int_spec(s));
  for (Scheme s : testing::int_schemes()) {
    for (RangeMethod r : {RangeMethod::kMinMax, RangeMethod::kPercentile, RangeMethod::kMse}) {
      for (const Case& c :
           {Case{Granularity::kPerTensor, 0, 0}, Case{Granularity::kPerChannel, 1, 0},
            Case{Granularity::kPerChannel, 2, 0}, Case{Granularity::kPerGroup, 0, 8}}) {
        QuantSpec spec = int_spec(s, c.g, c.axis, c.group);
        spec.range = r;
        spec.percentile = 95;
        specs.push_back(spec);
      }
    }
  }
  for (const QuantSpec& spec : specs) {
    const std::vector<float> y = dequantize_ok(quantize_ok(x, shape, spec));
    std::vector<float> fake(x.size());
    ErrorStats stats;
    ASSERT_TRUE(
        fake_quantize(kernels::kernels(), x.data(), shape, spec, fake.data(), 1, &stats).ok());
    ASSERT_EQ(fake, y) << scheme_name(spec.scheme) << " " << range_method_name(spec.range);
    const ErrorStats direct =
        compute_error_stats(x.data(), y.data(), static_cast<int64_t>(x.size()), 1);
    EXPECT_EQ(stats.mse, direct.mse);
    EXPECT_EQ(stats.count, static_cast<int64_t>(x.size()));
    EXPECT_GT(stats.snr_db, 10);  // sanity: 4 bits or more keep the signal
  }
}

TEST(RoundTrip, FakeQuantizeChecksInput) {
  std::vector<float> x(32, 1.0f), out(32);
  x[9] = NAN;
  const int64_t shape[] = {32};
  for (Scheme s : {Scheme::kQ8_0, Scheme::kInt8Symmetric}) {
    const absl::Status st =
        fake_quantize(kernels::kernels(), x.data(), shape, int_spec(s), out.data(), 1);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("x[9]"), std::string_view::npos) << st;
  }
}

}  // namespace
}  // namespace quantd::quant
