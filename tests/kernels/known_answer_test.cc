// Known answers worked out by hand from the format definitions (kernels/reference/README.md).
// Scales are chosen as powers of two, so every code follows from the rounding rule alone.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "quantd/kernels/formats.h"
#include "quantd/kernels/fp16.h"
#include "quantd/kernels/kernels.h"

namespace quantd::kernels {
namespace {

template <typename Block>
Block quantize_one(Format f, const std::array<float, 32>& x) {
  Block b;
  std::memset(&b, 0xAA, sizeof b);
  kernels_for(Isa::kScalar)->operator[](f).quantize_row(x.data(), &b, 32);
  return b;
}

std::array<float, 32> iota_from(float start) {
  std::array<float, 32> x{};
  for (int j = 0; j < 32; ++j) x[j] = start + static_cast<float>(j);
  return x;
}

TEST(KnownAnswer, Q8_0RoundsHalfAwayFromZero) {
  std::array<float, 32> x = iota_from(0);
  x[0] = -127.0f;  // amax 127: d = 1, codes = roundf(x)
  x[1] = 127.0f;
  x[2] = 0.5f;     // ties go away from zero (ties-to-even would give 0, -2, 2)
  x[3] = -0.5f;
  x[4] = 2.5f;
  x[5] = -2.49f;
  const auto b = quantize_one<BlockQ8_0>(Format::kQ8_0, x);
  EXPECT_EQ(b.d, 0x3C00);
  const int8_t expect_head[6] = {-127, 127, 1, -1, 3, -2};
  for (int j = 0; j < 6; ++j) EXPECT_EQ(b.qs[j], expect_head[j]) << j;
  for (int j = 6; j < 32; ++j) EXPECT_EQ(b.qs[j], j) << j;
}

TEST(KnownAnswer, Q8_1StoresScaledSum) {
  std::array<float, 32> x{};
  x[0] = 127.0f;
  x[1] = -27.0f;
  x[31] = 4.0f;
  const auto b = quantize_one<BlockQ8_1>(Format::kQ8_1, x);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.s, float_to_fp16(104.0f));  // (127 - 27 + 4) * 1
  EXPECT_EQ(b.s, 0x5680);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], -27);
  EXPECT_EQ(b.qs[31], 4);
}

TEST(KnownAnswer, Q4_0TruncatesAfterAddingEightAndAHalf) {
  std::array<float, 32> x{};
  x[0] = -8.0f;    // the extreme: d = -8 / -8 = 1, code 0
  x[1] = 7.0f;     // 15
  x[2] = 7.6f;     // 16.1 -> 16, clamped to 15
  x[3] = 0.5f;     // 9 (half up)
  x[4] = -0.5f;    // 8
  x[5] = 3.2f;     // 11
  x[16] = -7.9f;   // 0.6 -> 0
  x[17] = 1.49f;   // 9
  const auto b = quantize_one<BlockQ4_0>(Format::kQ4_0, x);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.qs[0], 0x00);          // 0 | 0 << 4
  EXPECT_EQ(b.qs[1], 0x9F);          // 15 | 9 << 4
  EXPECT_EQ(b.qs[2], 0x8F);          // 15 | 8 << 4
  EXPECT_EQ(b.qs[3], 0x89);
  EXPECT_EQ(b.qs[4], 0x88);
  EXPECT_EQ(b.qs[5], 0x8B);
  for (int j = 6; j < 16; ++j) EXPECT_EQ(b.qs[j], 0x88) << j;
}

TEST(KnownAnswer, Q4_0AllZeroBlockHasNegativeZeroScale) {
  // ggml: max stays +0, d = 0 / -8 = -0, stored as 0x8000; every code is 8.
  const auto b = quantize_one<BlockQ4_0>(Format::kQ4_0, std::array<float, 32>{});
  EXPECT_EQ(b.d, 0x8000);
  for (uint8_t q : b.qs) EXPECT_EQ(q, 0x88);
}

TEST(KnownAnswer, Q4_1UsesMinimumAndRange) {
  std::array<float, 32> x{};
  for (float& v : x) v = 2.0f;
  x[0] = -1.0f;   // min: m = -1, code 0
  x[1] = 14.0f;   // max: d = 15 / 15 = 1, code 15
  x[2] = 2.5f;    // 3.5 + 0.5 -> 4
  x[18] = 2.49f;  // 3.49 + 0.5 -> 3
  const auto b = quantize_one<BlockQ4_1>(Format::kQ4_1, x);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.m, 0xBC00);
  EXPECT_EQ(b.qs[0], 0x30);  // 0 | 3 << 4 (x[16] = 2 -> 3)
  EXPECT_EQ(b.qs[1], 0x3F);
  EXPECT_EQ(b.qs[2], 0x34);  // 4 | 3 << 4 (x[18] = 2.49 -> 3)
}

TEST(KnownAnswer, Q5_0SplitsTheFifthBit) {
  std::array<float, 32> x{};
  x[0] = -16.0f;  // d = 1, code 0
  x[1] = 15.0f;   // 31: low nibble 0xF, high bit set
  x[2] = 15.6f;   // 32 -> 31
  x[17] = 1.0f;   // 17: low nibble 1, high bit set (bit 17 of qh)
  const auto b = quantize_one<BlockQ5_0>(Format::kQ5_0, x);
  EXPECT_EQ(b.d, 0x3C00);
  // Zeros give code 16: low nibble 0, high bit 1.
  EXPECT_EQ(b.qs[0], 0x00);
  EXPECT_EQ(b.qs[1], 0x1F);
  EXPECT_EQ(b.qs[2], 0x0F);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  EXPECT_EQ(qh, 0xFFFFFFFEu);  // every code >= 16 but code 0 at index 0
}

TEST(KnownAnswer, Q5_1DoesNotClamp) {
  std::array<float, 32> x = iota_from(0);  // 0..31: m = 0, d = 1, codes = values
  const auto b = quantize_one<BlockQ5_1>(Format::kQ5_1, x);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.m, 0x0000);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], (j & 0xF) | (((j + 16) & 0xF) << 4)) << j;
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  EXPECT_EQ(qh, 0xFFFF0000u);
}

TEST(KnownAnswer, DegenerateRangeGivesZeroCodes) {
  // max - min overflows float: ggml converts an infinity to int here (undefined behaviour);
  // quantd defines every code as 0.
  std::array<float, 32> x{};
  x[0] = -3e38f;
  x[1] = 3e38f;
  const auto b = quantize_one<BlockQ4_1>(Format::kQ4_1, x);
  EXPECT_EQ(b.d, 0x7C00);  // +inf
  for (uint8_t q : b.qs) EXPECT_EQ(q, 0);
}

TEST(KnownAnswer, Fp16Conversion) {
  EXPECT_EQ(float_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(float_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_fp16(65519.99f), 0x7BFF);
  EXPECT_EQ(float_to_fp16(65520.0f), 0x7C00);  // rounds to infinity
  EXPECT_EQ(float_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_fp16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_fp16(0x1p-25f), 0x0000);  // tie: to even (0)
  EXPECT_EQ(float_to_fp16(0x3p-25f), 0x0002);  // tie: to even (2)
  EXPECT_EQ(float_to_fp16(1.0f + 0x1p-11f), 0x3C00);  // tie: to even
  EXPECT_EQ(float_to_fp16(1.0f + 0x3p-11f), 0x3C02);
  EXPECT_EQ(float_to_fp16(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_fp16(0x1.ffcp-15f), 0x0400);  // 1023.5 subnormal units: tie, up to the normals
  EXPECT_TRUE(std::isnan(fp16_to_float(float_to_fp16(std::nanf("")))));
  // Every half survives the round trip through float exactly (NaNs stay NaN).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_float(static_cast<fp16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_fp16(f), h) << std::hex << h;
  }
}

TEST(KnownAnswer, Bf16Conversion) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80);  // tie: to even
  EXPECT_EQ(float_to_bf16(1.0f + 0x3p-8f), 0x3F82);
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
}

TEST(KnownAnswer, DotProductsOfKnownBlocks) {
  // x = 1..32 quantized to q8_0 with d = 32/127; the dot of the codes is an exact integer.
  std::array<float, 32> ones{};
  for (float& v : ones) v = 1.0f;
  const KernelTable& k = *kernels_for(Isa::kScalar);
  BlockQ8_0 a, b;
  k[Format::kQ8_0].quantize_row(ones.data(), &a, 32);  // d = 1/127, codes 127
  k[Format::kQ8_0].quantize_row(ones.data(), &b, 32);
  for (int8_t q : a.qs) ASSERT_EQ(q, 127);
  const float d = fp16_to_float(a.d);
  EXPECT_EQ(k[Format::kQ8_0].vec_dot(32, &a, &b), static_cast<float>(32 * 127 * 127) * (d * d));
}

TEST(Formats, TableMatchesGgmlTypeIds) {
  EXPECT_EQ(find_format("q4_0")->format, Format::kQ4_0);
  EXPECT_EQ(find_format(8u)->name, "q8_0");
  EXPECT_EQ(find_format(30u)->name, "bf16");
  EXPECT_EQ(find_format(12u), nullptr);  // q4_K: not implemented yet
  EXPECT_EQ(find_format("q4_K"), nullptr);
  EXPECT_EQ(row_bytes(*find_format(Format::kQ5_1), 64), 48u);
}

// The table's header fields and file types, against ggml-common.h and llama.h by hand.
TEST(FormatTable, HeaderFieldsAndFileTypes) {
  auto fields = [](Format f) {
    std::string out;
    for (const HeaderField& h : find_format(f)->header) {
      out += std::string(h.name) + "@" + std::to_string(h.offset) + (h.type == FieldType::kF16 ? "h " : "f ");
    }
    return out;
  };
  EXPECT_EQ(fields(Format::kQ4_0), "d@0h ");
  EXPECT_EQ(fields(Format::kQ4_1), "d@0h m@2h ");
  EXPECT_EQ(fields(Format::kQ5_0), "d@0h ");
  EXPECT_EQ(fields(Format::kQ5_1), "d@0h m@2h ");
  EXPECT_EQ(fields(Format::kQ8_0), "d@0h ");
  EXPECT_EQ(fields(Format::kQ8_1), "d@0h s@2h ");
  EXPECT_EQ(fields(Format::kF16), "");
  const std::array<std::pair<Format, int>, 9> ftypes = {{{Format::kF32, 0}, {Format::kF16, 1}, {Format::kQ4_0, 2},
                                                         {Format::kQ4_1, 3}, {Format::kQ8_0, 7}, {Format::kQ5_0, 8},
                                                         {Format::kQ5_1, 9}, {Format::kBF16, 32}, {Format::kQ8_1, -1}}};
  for (auto [f, t] : ftypes) EXPECT_EQ(find_format(f)->gguf_file_type, t) << find_format(f)->name;
  for (const FormatInfo& f : all_formats()) {
    EXPECT_EQ(gguf_type_id(f), static_cast<uint32_t>(f.format));
    for (const HeaderField& h : f.header) EXPECT_LE(h.offset + (h.type == FieldType::kF16 ? 2 : 4), f.block_bytes);
  }
}

}  // namespace
}  // namespace quantd::kernels
