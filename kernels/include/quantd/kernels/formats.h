// Block formats, byte-compatible with ggml / GGUF.
//
// Every block format here packs 32 consecutive values of one row (ggml's K-quants, if added,
// pack 256: callers read FormatInfo::block_elems, never a constant). A block holds one or two
// fp16 numbers (scale d, and for the "_1" formats an offset m or a sum s) followed by the
// packed integer codes. Field order, sizes and the meaning of each bit are those of ggml's
// ggml-common.h, so a tensor written here can be read by llama.cpp and vice versa.
// The reference quantizers in kernels/reference/ are the definition of how values map to codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace quantd::kernels {

// GGUF tensor type ids. They are stored in files: never renumber.
enum class Format : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kBF16 = 30,
};
inline constexpr int kMaxFormatId = 31;

// Values per block of the formats below (ggml's QK4_0 = QK4_1 = ... = 32). Only the kernels
// use it; everyone else reads FormatInfo::block_elems, which a 256-value format changes.
inline constexpr int kBlockSize = 32;

// IEEE binary16 and bfloat16, as raw bits.
using fp16_t = uint16_t;
using bf16_t = uint16_t;

// x[i] = (q[i] - 8) * d, q in [0, 15]. Low nibbles hold values 0..15, high nibbles 16..31.
struct BlockQ4_0 {
  fp16_t d;
  uint8_t qs[kBlockSize / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// x[i] = q[i] * d + m, q in [0, 15]; m is the block minimum.
struct BlockQ4_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qs[kBlockSize / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// x[i] = (q[i] - 16) * d, q in [0, 31]: low 4 bits in qs (as Q4_0), bit 4 of value i in bit i of qh.
struct BlockQ5_0 {
  fp16_t d;
  uint8_t qh[4];
  uint8_t qs[kBlockSize / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// x[i] = q[i] * d + m, q in [0, 31], bits laid out as in Q5_0.
struct BlockQ5_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qh[4];
  uint8_t qs[kBlockSize / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// x[i] = q[i] * d, q in [-127, 127].
struct BlockQ8_0 {
  fp16_t d;
  int8_t qs[kBlockSize];
};
static_assert(sizeof(BlockQ8_0) == 34);

// As Q8_0 plus s = d * sum(q): the activation partner of the offset formats Q4_1 and Q5_1,
// whose dot product needs sum(y) to apply the offset m.
struct BlockQ8_1 {
  fp16_t d;
  fp16_t s;
  int8_t qs[kBlockSize];
};
static_assert(sizeof(BlockQ8_1) == 36);

// A float in a block's header: ggml's d (scale), m (offset) or s (d * sum of the codes).
// Where a block keeps them differs by format (the K-quants put d at the end), hence the offset.
enum class FieldType : uint8_t { kF16, kF32 };
struct HeaderField {
  std::string_view name;  // ggml's field name: "d", "m", "s"
  uint16_t offset;        // bytes from the start of the block
  FieldType type;
};

// One row of the format table. Callers look formats up here; they never switch on them.
struct FormatInfo {
  Format format;                       // also the GGUF tensor type id
  std::string_view name;               // ggml spelling: "q4_0", "f16", ...
  int block_elems;                     // values per block (1 for the float formats)
  int block_bytes;                     // bytes per block
  Format vec_dot_partner;              // the format vec_dot expects its second operand in
  bool is_block_quantized;             // false for f32 / f16 / bf16
  int gguf_file_type;                  // general.file_type of a file "mostly" in this format
                                       // (llama.cpp's llama_ftype), -1 when there is none
  std::span<const HeaderField> header;  // the block's float fields, empty for float formats
};

inline uint32_t gguf_type_id(const FormatInfo& info) { return static_cast<uint32_t>(info.format); }

// All formats this library implements, in GGUF id order.
std::span<const FormatInfo> all_formats();
// nullptr when the id or name is not one of ours (e.g. a K-quant read from a file).
const FormatInfo* find_format(Format format);
const FormatInfo* find_format(uint32_t gguf_type_id);
const FormatInfo* find_format(std::string_view name);

// Bytes of a row of n values; n must be a multiple of block_elems.
inline size_t row_bytes(const FormatInfo& info, int64_t n) {
  return static_cast<size_t>(n / info.block_elems) * static_cast<size_t>(info.block_bytes);
}

}  // namespace quantd::kernels
