#include "quantd/kernels/formats.h"

#include <array>
#include <cstddef>

namespace quantd::kernels {
namespace {

template <typename Block>
constexpr std::array<HeaderField, 1> kScale = {{{"d", offsetof(Block, d), FieldType::kF16}}};
template <typename Block>
constexpr std::array<HeaderField, 2> kScaleMin = {
    {{"d", offsetof(Block, d), FieldType::kF16}, {"m", offsetof(Block, m), FieldType::kF16}}};
constexpr std::array<HeaderField, 2> kScaleSumQ8_1 = {
    {{"d", offsetof(BlockQ8_1, d), FieldType::kF16}, {"s", offsetof(BlockQ8_1, s), FieldType::kF16}}};

// llama.cpp's llama_ftype numbers; q8_1 is an activation format no file is "mostly" in.
constexpr std::array<FormatInfo, 9> kFormats = {{
    {Format::kF32, "f32", 1, 4, Format::kF32, false, 0, {}},
    {Format::kF16, "f16", 1, 2, Format::kF32, false, 1, {}},
    {Format::kQ4_0, "q4_0", kBlockSize, sizeof(BlockQ4_0), Format::kQ8_0, true, 2, kScale<BlockQ4_0>},
    {Format::kQ4_1, "q4_1", kBlockSize, sizeof(BlockQ4_1), Format::kQ8_1, true, 3, kScaleMin<BlockQ4_1>},
    {Format::kQ5_0, "q5_0", kBlockSize, sizeof(BlockQ5_0), Format::kQ8_0, true, 8, kScale<BlockQ5_0>},
    {Format::kQ5_1, "q5_1", kBlockSize, sizeof(BlockQ5_1), Format::kQ8_1, true, 9, kScaleMin<BlockQ5_1>},
    {Format::kQ8_0, "q8_0", kBlockSize, sizeof(BlockQ8_0), Format::kQ8_0, true, 7, kScale<BlockQ8_0>},
    {Format::kQ8_1, "q8_1", kBlockSize, sizeof(BlockQ8_1), Format::kQ8_1, true, -1, kScaleSumQ8_1},
    {Format::kBF16, "bf16", 1, 2, Format::kF32, false, 32, {}},
}};

}  // namespace

std::span<const FormatInfo> all_formats() { return kFormats; }

const FormatInfo* find_format(Format format) { return find_format(static_cast<uint32_t>(format)); }

const FormatInfo* find_format(uint32_t gguf_type_id) {
  for (const FormatInfo& f : kFormats) {
    if (static_cast<uint32_t>(f.format) == gguf_type_id) return &f;
  }
  return nullptr;
}

const FormatInfo* find_format(std::string_view name) {
  for (const FormatInfo& f : kFormats) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace quantd::kernels
