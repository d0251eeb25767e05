#include "quantd/kernels/formats.h"

#include <array>

namespace quantd::kernels {
namespace {

constexpr std::array<FormatInfo, 9> kFormats = {{
    {Format::kF32, "f32", 1, 4, Format::kF32, false},
    {Format::kF16, "f16", 1, 2, Format::kF32, false},
    {Format::kQ4_0, "q4_0", kBlockSize, sizeof(BlockQ4_0), Format::kQ8_0, true},
    {Format::kQ4_1, "q4_1", kBlockSize, sizeof(BlockQ4_1), Format::kQ8_1, true},
    {Format::kQ5_0, "q5_0", kBlockSize, sizeof(BlockQ5_0), Format::kQ8_0, true},
    {Format::kQ5_1, "q5_1", kBlockSize, sizeof(BlockQ5_1), Format::kQ8_1, true},
    {Format::kQ8_0, "q8_0", kBlockSize, sizeof(BlockQ8_0), Format::kQ8_0, true},
    {Format::kQ8_1, "q8_1", kBlockSize, sizeof(BlockQ8_1), Format::kQ8_1, true},
    {Format::kBF16, "bf16", 1, 2, Format::kF32, false},
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
