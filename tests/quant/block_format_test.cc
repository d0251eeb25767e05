// The block path of server/quant over a format it has never heard of: a test-only q8-like
// format with 256-value blocks and its scale at the end of the block (where ggml's Q6_K keeps
// d). Shape checks, byte counts, the task split, error indices and header checks must all
// follow the format's FormatInfo, so adding a K-quant touches the kernels and one scheme row.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "quantd/kernels/fp16.h"
#include "server/quant/block_quant.h"
#include "test_util.h"

namespace quantd::quant {
namespace {

using kernels::fp16_t;

constexpr int kElems = 256;

struct BlockQ8x256 {
  int8_t qs[kElems];
  fp16_t d;
};
static_assert(sizeof(BlockQ8x256) == 258);

constexpr kernels::HeaderField kHeader[] = {{"d", offsetof(BlockQ8x256, d), kernels::FieldType::kF16}};

// An id no real format uses (kernels::find_format knows nothing of it).
constexpr auto kFormat = static_cast<kernels::Format>(29);
const kernels::FormatInfo kInfo = {kFormat, "test_q8_x256", kElems, sizeof(BlockQ8x256), kFormat, true, -1, kHeader};

void quantize_row(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8x256*>(vy);
  for (int64_t b = 0; b < n / kElems; ++b, x += kElems) {
    float amax = 0;
    for (int i = 0; i < kElems; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127;
    const float id = d != 0 ? 1 / d : 0;
    y[b].d = kernels::float_to_fp16(d);
    for (int i = 0; i < kElems; ++i) y[b].qs[i] = static_cast<int8_t>(std::lround(x[i] * id));
  }
}

void dequantize_row(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ8x256*>(vx);
  for (int64_t b = 0; b < n / kElems; ++b) {
    const float d = kernels::fp16_to_float(x[b].d);
    for (int i = 0; i < kElems; ++i) *y++ = x[b].qs[i] * d;
  }
}

internal::BlockFormat test_format() { return {&kInfo, {quantize_row, dequantize_row, nullptr, nullptr}, kInfo.name}; }

std::string message(const absl::Status& s) { return std::string(s.message()); }

TEST(BlockFormat256, ShapeChecksUseBlockElems) {
  EXPECT_TRUE(internal::check_block_shape(std::vector<int64_t>{3, 512}, kInfo, kInfo.name).ok());
  const absl::Status bad = internal::check_block_shape(std::vector<int64_t>{3, 96}, kInfo, kInfo.name);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(message(bad).find("shape[1] = 96"), std::string::npos) << bad;
  EXPECT_NE(message(bad).find("multiple of 256"), std::string::npos) << bad;
  const absl::Status scalar = internal::check_block_shape(std::vector<int64_t>{}, kInfo, kInfo.name);
  EXPECT_NE(message(scalar).find("multiple of 256"), std::string::npos) << scalar;
}

TEST(BlockFormat256, RoundTripOverSeveralTasksAndThreadCounts) {
  // 100 blocks: more than one 16 Ki-value task, and a ragged last one.
  const int64_t n = 100 * kElems;
  const std::vector<float> x = testing::normal_values(n, 5);
  EXPECT_EQ(internal::block_data_bytes(kInfo, n), 100u * 258u);
  absl::StatusOr<std::vector<uint8_t>> one = internal::quantize_blocks(test_format(), x.data(), n, 1);
  absl::StatusOr<std::vector<uint8_t>> four = internal::quantize_blocks(test_format(), x.data(), n, 4);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_EQ(*one, *four);
  std::vector<uint8_t> direct(100 * sizeof(BlockQ8x256));
  quantize_row(x.data(), direct.data(), n);
  EXPECT_EQ(*one, direct);
  std::vector<float> y(n);
  ASSERT_TRUE(internal::dequantize_blocks(test_format(), one->data(), n, y.data(), 4).ok());
  std::vector<float> expect(n);
  dequantize_row(direct.data(), expect.data(), n);
  EXPECT_EQ(y, expect);
}

TEST(BlockFormat256, ErrorsNameFlatIndicesAndBlocks) {
  const int64_t n = 100 * kElems;
  std::vector<float> x = testing::normal_values(n, 6);
  x[70 * kElems + 3] = NAN;
  absl::Status s = internal::quantize_blocks(test_format(), x.data(), n, 2).status();
  EXPECT_NE(message(s).find(std::to_string(70 * kElems + 3)), std::string::npos) << s;

  x[70 * kElems + 3] = 0;
  for (int i = 0; i < kElems; ++i) x[66 * kElems + i] = 1e9f;  // d = 1e9 / 127 overflows fp16
  s = internal::quantize_blocks(test_format(), x.data(), n, 2).status();
  EXPECT_NE(message(s).find("block 66 (flat indices 16896..17151)"), std::string::npos) << s;

  x = testing::normal_values(n, 7);
  absl::StatusOr<std::vector<uint8_t>> data = internal::quantize_blocks(test_format(), x.data(), n, 1);
  ASSERT_TRUE(data.ok());
  const fp16_t inf = 0x7C00;  // the header field at offset 256 of block 5, not byte 0
  std::memcpy(data->data() + 5 * sizeof(BlockQ8x256) + offsetof(BlockQ8x256, d), &inf, sizeof inf);
  std::vector<float> y(n);
  s = internal::dequantize_blocks(test_format(), data->data(), n, y.data(), 2);
  EXPECT_NE(message(s).find("data: block 5 of test_q8_x256"), std::string::npos) << s;
}

// The scheme table: every block row names a kernel format and every short name follows the
// rule the clients use to derive it from the API's enum names.
std::string short_name(std::string api) {
  for (char& c : api) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto [from, to] : {std::pair<std::string, std::string>{"_asymmetric", "_asym"}, {"_symmetric", "_sym"}}) {
    if (api.size() > from.size() && api.ends_with(from)) return api.substr(0, api.size() - from.size()) + to;
  }
  return api;
}

TEST(SchemeTable, RowsAreConsistent) {
  for (const SchemeInfo& r : all_schemes()) {
    EXPECT_EQ(find_scheme(r.scheme), &r);
    EXPECT_EQ(find_scheme(r.name), &r);
    EXPECT_EQ(find_scheme_by_api_name(r.api_name), &r);
    EXPECT_EQ(short_name(std::string(r.api_name)), r.name);
    if (r.kind == SchemeKind::kBlock) {
      const kernels::FormatInfo* f = block_format_info(r.scheme);
      ASSERT_NE(f, nullptr) << r.name;
      EXPECT_TRUE(f->is_block_quantized) << r.name;
      EXPECT_EQ(f->name, r.name);
    } else {
      EXPECT_EQ(block_format_info(r.scheme), nullptr) << r.name;
      EXPECT_LT(r.qmin, r.qmax) << r.name;
    }
  }
  EXPECT_EQ(find_scheme(static_cast<Scheme>(-1)), nullptr);
  EXPECT_EQ(find_scheme("q4_k"), nullptr);
  EXPECT_EQ(scheme_names(), "q4_0, q4_1, q5_0, q5_1, q8_0, int8_sym, int8_asym, int4_sym or int4_asym");
}

}  // namespace
}  // namespace quantd::quant
