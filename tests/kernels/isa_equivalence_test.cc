// Every ISA's table against the reference: identical bytes from quantize, identical floats
// from dequantize and vec_dot (all ISAs sum in the reference's fixed order), on random and
// adversarial rows. Parametrized over every ISA this machine can run (Highway's
// HWY_EXPORT_AND_TEST_P); CoveredIsas fails if the CPU has an ISA the build left out.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "quantd/kernels/formats.h"
#include "quantd/kernels/kernels.h"

namespace quantd::kernels {
namespace {

struct Row {
  std::string name;
  std::vector<float> x;
};

// Rows are whole blocks of every format: a multiple of each format's block_elems.
int row_unit() {
  int unit = 1;
  for (const FormatInfo& f : all_formats()) unit = std::lcm(unit, f.block_elems);
  return unit;
}
const int kUnit = row_unit();

// Adversarial and random rows. Lengths are whole blocks; block counts include odd ones and
// ones that are not a multiple of any SIMD unroll.
std::vector<Row> test_rows() {
  std::vector<Row> rows;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int blocks : {1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 64, 129}) {
    std::vector<float> x(blocks * kUnit);
    for (float& v : x) v = normal(rng);
    rows.push_back({"normal_" + std::to_string(blocks), x});
    for (float& v : x) v = uniform(rng) * 1e3f;
    rows.push_back({"uniform_" + std::to_string(blocks), x});
  }
  const int n = 13 * kUnit;
  auto make = [&](const std::string& name, const std::function<float(int)>& f) {
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i) x[i] = f(i);
    rows.push_back({name, x});
  };
  make("zeros", [](int) { return 0.0f; });
  make("negative_zeros", [](int) { return -0.0f; });
  make("mixed_zeros", [](int i) { return i % 3 ? 0.0f : -0.0f; });
  make("constant", [](int) { return 0.37f; });
  make("negative_constant", [](int) { return -5.5f; });
  make("huge", [&](int i) { return (i % 2 ? 3.0e38f : -3.0e38f) * (0.5f + 0.5f * std::fabs(uniform(rng))); });
  make("huge_positive", [&](int) { return 3.0e38f * std::fabs(uniform(rng)); });
  make("beyond_fp16", [&](int) { return 1e6f * uniform(rng); });
  make("subnormals", [&](int) { return 1e-40f * uniform(rng); });
  make("tiny_normals", [&](int) { return 1e-36f * uniform(rng); });
  make("outlier_per_block", [&](int i) { return i % kUnit == 7 ? 500.0f : 0.01f * normal(rng); });
  make("negative_outlier", [&](int i) { return i % kUnit == kUnit - 1 ? -500.0f : 0.01f * normal(rng); });
  make("equal_magnitudes", [](int i) { return i % 2 ? 3.0f : -3.0f; });
  make("half_ties", [](int i) { return 0.5f * static_cast<float>(i % 17 - 8); });
  make("integers", [](int i) { return static_cast<float>(i % 255 - 127); });
  // Zero minima (maxima) next to signed zeros: the offset formats keep the first extreme,
  // which a vector min/max does not.
  make("relu", [&](int i) { return i % 5 == 0 ? (i % 2 ? 0.0f : -0.0f) : std::fabs(normal(rng)); });
  make("negative_relu", [&](int i) { return i % 5 == 0 ? (i % 2 ? 0.0f : -0.0f) : -std::fabs(normal(rng)); });
  return rows;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class IsaTest : public ::testing::TestWithParam<Isa> {
 protected:
  const KernelTable& simd() const { return *kernels_for(GetParam()); }
  const KernelTable& ref() const { return *kernels_for(Isa::kScalar); }
};

TEST_P(IsaTest, QuantizeGivesReferenceBytes) {
  for (const FormatInfo& f : all_formats()) {
    for (const Row& row : test_rows()) {
      const int64_t n = static_cast<int64_t>(row.x.size());
      std::vector<uint8_t> got(row_bytes(f, n), 0xAA), want(row_bytes(f, n), 0x55);
      simd()[f.format].quantize_row(row.x.data(), got.data(), n);
      ref()[f.format].quantize_row(row.x.data(), want.data(), n);
      ASSERT_EQ(got, want) << f.name << " on " << row.name;
    }
  }
}

TEST_P(IsaTest, DequantizeGivesReferenceFloats) {
  for (const FormatInfo& f : all_formats()) {
    for (const Row& row : test_rows()) {
      const int64_t n = static_cast<int64_t>(row.x.size());
      std::vector<uint8_t> q(row_bytes(f, n));
      ref()[f.format].quantize_row(row.x.data(), q.data(), n);
      std::vector<float> got(n, 1.0f), want(n, 2.0f);
      simd()[f.format].dequantize_row(q.data(), got.data(), n);
      ref()[f.format].dequantize_row(q.data(), want.data(), n);
      ASSERT_TRUE(same_bits(got, want)) << f.name << " on " << row.name;
    }
  }
}

TEST_P(IsaTest, DequantizeArbitraryBytes) {
  // Any byte pattern is a valid block (including NaN/Inf scales): decode it like the reference.
  std::mt19937 rng(7);
  for (const FormatInfo& f : all_formats()) {
    const int64_t n = 37 * kUnit;
    std::vector<uint8_t> q(row_bytes(f, n));
    for (uint8_t& b : q) b = static_cast<uint8_t>(rng());
    std::vector<float> got(n), want(n);
    simd()[f.format].dequantize_row(q.data(), got.data(), n);
    ref()[f.format].dequantize_row(q.data(), want.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      if (std::isnan(want[i])) {
        ASSERT_TRUE(std::isnan(got[i])) << f.name << " at " << i;
      } else {
        ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0) << f.name << " at " << i;
      }
    }
  }
}

TEST_P(IsaTest, VecDotGivesReferenceSum) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const FormatInfo& f : all_formats()) {
    if (simd()[f.format].vec_dot == nullptr) continue;
    const FormatInfo& p = *find_format(f.vec_dot_partner);
    for (const Row& row : test_rows()) {
      const int64_t n = static_cast<int64_t>(row.x.size());
      std::vector<float> act(n);
      for (float& v : act) v = normal(rng);
      std::vector<uint8_t> qx(row_bytes(f, n)), qy(row_bytes(p, n));
      ref()[f.format].quantize_row(row.x.data(), qx.data(), n);
      ref()[p.format].quantize_row(act.data(), qy.data(), n);
      const float got = simd()[f.format].vec_dot(n, qx.data(), qy.data());
      const float want = ref()[f.format].vec_dot(n, qx.data(), qy.data());
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << f.name << " on " << row.name;
      } else {
        EXPECT_EQ(std::memcmp(&got, &want, 4), 0) << f.name << " on " << row.name << ": " << got << " vs " << want;
      }
    }
  }
}

// Bytes of the fp16 fields at the start of each block (d, and m or s for the offset formats).
int half_fields(const FormatInfo& f) {
  return f.format == Format::kQ4_1 || f.format == Format::kQ5_1 || f.format == Format::kQ8_1 ? 4 : 2;
}

// Random code bytes with finite random scales, so that the integer sums decide a dot.
void randomize_blocks(const FormatInfo& f, std::vector<uint8_t>& q, std::mt19937& rng) {
  for (uint8_t& b : q) b = static_cast<uint8_t>(rng());
  for (size_t b = 0; b < q.size(); b += f.block_bytes) {
    for (int h = 0; h < half_fields(f); h += 2) {
      const uint16_t half = static_cast<uint16_t>(0x3000 + rng() % 0x1000 + (rng() % 2) * 0x8000);
      std::memcpy(&q[b + h], &half, 2);
    }
  }
}

TEST_P(IsaTest, VecDotArbitraryCodes) {
  // Any code bytes are valid blocks (q8 codes include -128): the integer sums must stay exact.
  std::mt19937 rng(5);
  for (const FormatInfo& f : all_formats()) {
    if (!f.is_block_quantized || simd()[f.format].vec_dot == nullptr) continue;
    const FormatInfo& p = *find_format(f.vec_dot_partner);
    for (int blocks : {1, 3, 4, 7, 8, 12, 37}) {
      const int64_t n = blocks * kUnit;
      std::vector<uint8_t> qx(row_bytes(f, n)), qy(row_bytes(p, n));
      randomize_blocks(f, qx, rng);
      randomize_blocks(p, qy, rng);
      const float got = simd()[f.format].vec_dot(n, qx.data(), qy.data());
      const float want = ref()[f.format].vec_dot(n, qx.data(), qy.data());
      EXPECT_EQ(std::memcmp(&got, &want, 4), 0) << f.name << " blocks=" << blocks << ": " << got << " vs " << want;
    }
  }
}

TEST_P(IsaTest, PartnerCodesAreNeverMinus128) {
  // The batched dots' precondition: q8_0 and q8_1 rows written by quantize_row hold codes in
  // [-127, 127], whatever the input (the largest magnitude maps to 127 exactly).
  for (Format fmt : {Format::kQ8_0, Format::kQ8_1}) {
    const FormatInfo& f = *find_format(fmt);
    for (const Row& row : test_rows()) {
      const int64_t n = static_cast<int64_t>(row.x.size());
      std::vector<uint8_t> q(row_bytes(f, n));
      simd()[fmt].quantize_row(row.x.data(), q.data(), n);
      for (size_t b = 0; b < q.size(); b += f.block_bytes) {
        for (size_t i = b + half_fields(f); i < b + f.block_bytes; ++i) {
          ASSERT_NE(q[i], 0x80) << f.name << " on " << row.name << " at byte " << i;
        }
      }
    }
  }
}

TEST_P(IsaTest, VecDotBatchGivesVecDotSums) {
  // A weight row with arbitrary codes against partner rows (quantized adversarial rows, and
  // arbitrary codes other than -128) at a padded stride: every output is the reference's dot.
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const FormatInfo& f : all_formats()) {
    const VecDotBatchFn batch = simd()[f.format].vec_dot_batch;
    if (batch == nullptr) continue;
    const FormatInfo& p = *find_format(f.vec_dot_partner);
    for (int blocks : {1, 3, 4, 7, 8, 9, 12, 13, 37, 64, 176}) {
      const int64_t n = blocks * kUnit;
      std::vector<uint8_t> qx(row_bytes(f, n));
      randomize_blocks(f, qx, rng);
      const size_t stride = row_bytes(p, n) + 8;
      const int64_t ny = 6;
      std::vector<uint8_t> qy(stride * ny);
      for (int64_t j = 0; j < ny; ++j) {
        uint8_t* y = &qy[j * stride];
        if (j % 2 == 0) {
          std::vector<uint8_t> codes(row_bytes(p, n));
          randomize_blocks(p, codes, rng);
          for (size_t b = 0; b < codes.size(); b += p.block_bytes) {
            for (size_t i = b + half_fields(p); i < b + p.block_bytes; ++i) codes[i] = codes[i] == 0x80 ? 0x81 : codes[i];
          }
          std::memcpy(y, codes.data(), codes.size());
        } else {
          const std::vector<Row> rows = test_rows();
          std::vector<float> act(n);
          const Row& row = rows[(j * 7 + blocks) % rows.size()];
          for (int64_t i = 0; i < n; ++i) act[i] = i < static_cast<int64_t>(row.x.size()) ? row.x[i] : normal(rng);
          ref()[p.format].quantize_row(act.data(), y, n);
        }
      }
      std::vector<uint8_t> scratch_bytes(blocks * kVecDotBatchScratchPerBlock + 32);
      void* scratch = scratch_bytes.data() + (32 - reinterpret_cast<uintptr_t>(scratch_bytes.data()) % 32) % 32;
      const int64_t out_stride = 3;
      std::vector<float> out(ny * out_stride, -1.0f);
      batch(n, qx.data(), qy.data(), stride, ny, out.data(), out_stride, scratch);
      for (int64_t j = 0; j < ny; ++j) {
        const float want = ref()[f.format].vec_dot(n, qx.data(), &qy[j * stride]);
        const float got = out[j * out_stride];
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(got)) << f.name << " blocks=" << blocks << " row " << j;
        } else {
          EXPECT_EQ(std::memcmp(&got, &want, 4), 0)
              << f.name << " blocks=" << blocks << " row " << j << ": " << got << " vs " << want;
        }
        EXPECT_EQ(out[j * out_stride + 1], -1.0f) << "wrote between outputs";
      }
    }
  }
}

TEST_P(IsaTest, FloatFormatsAnyLength) {
  // f32/f16/bf16 rows need not be whole blocks: lengths around every vector width.
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (Format fmt : {Format::kF32, Format::kF16, Format::kBF16}) {
    const FormatInfo& f = *find_format(fmt);
    for (int64_t n : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000}) {
      std::vector<float> x(n), act(n);
      for (float& v : x) v = normal(rng);
      for (float& v : act) v = normal(rng);
      std::vector<uint8_t> got(row_bytes(f, n)), want(row_bytes(f, n));
      simd()[fmt].quantize_row(x.data(), got.data(), n);
      ref()[fmt].quantize_row(x.data(), want.data(), n);
      ASSERT_EQ(got, want) << f.name << " n=" << n;
      std::vector<float> dg(n), dw(n);
      simd()[fmt].dequantize_row(want.data(), dg.data(), n);
      ref()[fmt].dequantize_row(want.data(), dw.data(), n);
      ASSERT_TRUE(same_bits(dg, dw)) << f.name << " n=" << n;
      const float a = simd()[fmt].vec_dot(n, want.data(), act.data());
      const float b = ref()[fmt].vec_dot(n, want.data(), act.data());
      ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << f.name << " n=" << n << ": " << a << " vs " << b;
    }
  }
}

TEST_P(IsaTest, NonFiniteInputStaysInBounds) {
  // Policy: non-finite input is the caller's to reject (first_non_finite); the kernels give
  // unspecified codes for it but never write outside the row.
  const int64_t n = 4 * kUnit;
  std::vector<float> x(n, 1.0f);
  x[5] = std::nanf("");
  x[40] = INFINITY;
  x[77] = -INFINITY;
  EXPECT_EQ(first_non_finite(x.data(), n), 5);
  for (const FormatInfo& f : all_formats()) {
    const size_t bytes = row_bytes(f, n);
    std::vector<uint8_t> buf(bytes + 64, 0xCD);
    simd()[f.format].quantize_row(x.data(), buf.data(), n);
    for (size_t i = bytes; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xCD) << f.name;
  }
  std::vector<float> finite(n, 2.0f);
  EXPECT_EQ(first_non_finite(finite.data(), n), -1);
}

std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) {
  return std::string(isa_name(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllSupported, IsaTest, ::testing::ValuesIn(supported_isas()), isa_param_name);

TEST(Dispatch, CoveredIsas) {
  // A SIMD level the CPU has but the build or the probe dropped is a silent slowdown: fail.
  std::vector<Isa> have = supported_isas();
  auto has = [&](Isa i) { return std::find(have.begin(), have.end(), i) != have.end(); };
  EXPECT_TRUE(has(Isa::kScalar));
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_TRUE(has(Isa::kAvx2));
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    EXPECT_TRUE(has(Isa::kAvx512));
    if (__builtin_cpu_supports("avx512vnni")) {
      EXPECT_TRUE(has(Isa::kAvx512Vnni));
    }
  }
#elif defined(__aarch64__)
  EXPECT_TRUE(has(Isa::kNeon));
#endif
  for (Isa i : have) std::printf("[ covered  ] %s\n", std::string(isa_name(i)).c_str());
}

TEST(Dispatch, ActiveTableHonoursQuantdIsa) {
  ASSERT_EQ(select_kernels(), "");
  const char* env = std::getenv("QUANTD_ISA");
  if (env != nullptr && *env != '\0') {
    EXPECT_EQ(isa_name(kernels().isa), env);
  } else {
    EXPECT_EQ(kernels().isa, supported_isas().back());  // the best one
  }
  std::printf("[ active   ] %s\n", std::string(isa_name(kernels().isa)).c_str());
}

TEST(Dispatch, ParsesIsaNames) {
  EXPECT_EQ(parse_isa("avx2"), Isa::kAvx2);
  EXPECT_EQ(parse_isa("neon_dotprod"), Isa::kNeonDotprod);
  EXPECT_EQ(parse_isa("avx512"), Isa::kAvx512);
  EXPECT_EQ(parse_isa("avx512_vnni"), Isa::kAvx512Vnni);
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDotprod}) {
    EXPECT_EQ(parse_isa(isa_name(i)), i) << isa_name(i);
  }
  EXPECT_FALSE(parse_isa("sse9").has_value());
}

}  // namespace
}  // namespace quantd::kernels
