// Internal: the ggml block schemes, through the kernel table.
//
// Nothing here assumes a block size: every count comes from the format's kernels::FormatInfo
// (block_elems, block_bytes, header), so a format with 256-value blocks (the K-quants) works
// once the kernels describe it (tests/quant/block_format_test.cc runs one).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "quantd/kernels/kernels.h"
#include "server/quant/scheme.h"

namespace quantd::quant::internal {

// What the block loops need of a format: its table row, its kernels and a name for messages.
struct BlockFormat {
  const kernels::FormatInfo* info = nullptr;
  kernels::FormatKernels kernels;
  std::string_view name;
};

// s's format in table k. UNIMPLEMENTED when k has no quantize/dequantize row for it,
// INVALID_ARGUMENT when s is not a block scheme.
absl::StatusOr<BlockFormat> block_format(const kernels::KernelTable& k, Scheme s);

// At least one dimension, the last a multiple of block_elems. INVALID_ARGUMENT naming the
// dimension and the block size otherwise.
absl::Status check_block_shape(std::span<const int64_t> shape, const kernels::FormatInfo& info,
                               std::string_view name);

// Bytes of n values (n a multiple of block_elems). Fits in uint64 for any int64 n: every block
// format has block_bytes < 2 * block_elems.
uint64_t block_data_bytes(const kernels::FormatInfo& info, int64_t n);

// x: n values, n a multiple of block_elems. INVALID_ARGUMENT naming the first non-finite flat
// index, else naming the first block whose header field (fp16 scale or minimum) overflowed
// (values too large for the format).
absl::StatusOr<std::vector<uint8_t>> quantize_blocks(const BlockFormat& f, const float* x, int64_t n,
                                                     int threads);

// data: block_data_bytes(info, n) bytes. INVALID_ARGUMENT when a block's header holds a
// non-finite scale or minimum (corrupted data), naming the first such block.
absl::Status dequantize_blocks(const BlockFormat& f, const uint8_t* data, int64_t n, float* out, int threads);

}  // namespace quantd::quant::internal
