// Internal: the ggml block schemes, through the kernel table.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "quantd/kernels/kernels.h"
#include "server/quant/scheme.h"

namespace quantd::quant::internal {

kernels::Format block_format(Scheme s);

// Bytes of n values (n a multiple of 32): n / 32 blocks. Fits in uint64 for any int64 n.
uint64_t block_data_bytes(Scheme s, int64_t n);

// x: n values, n a multiple of 32. INVALID_ARGUMENT naming the first non-finite flat index,
// else naming the first block whose fp16 scale or minimum overflowed (values too large for
// the format).
absl::StatusOr<std::vector<uint8_t>> quantize_blocks(const kernels::KernelTable& k, Scheme s,
                                                     const float* x, int64_t n, int threads);

// data: block_data_bytes(s, n) bytes. INVALID_ARGUMENT when a block holds a non-finite fp16
// scale or minimum (corrupted data), naming the first such block.
absl::Status dequantize_blocks(const kernels::KernelTable& k, Scheme s, const uint8_t* data,
                               int64_t n, float* out, int threads);

}  // namespace quantd::quant::internal
