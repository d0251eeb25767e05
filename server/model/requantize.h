// Internal to Model::load: converting a float tensor to another format, row by row.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "quantd/kernels/formats.h"
#include "server/model/gguf.h"

namespace quantd::model {

// The format `t` gets when loaded with target `target`: the target for F32/F16/BF16 tensors of
// >= 2 dims whose rows are a multiple of its block size, F16 for those whose rows are not
// (llama.cpp's fallback), and the tensor's own format for everything else (1-D norms,
// tensors already quantized).
kernels::Format load_format(const GgufTensor& t, kernels::Format target);

struct ConvertedTensor {
  std::unique_ptr<uint8_t[]> data;
  uint64_t bytes = 0;
};

// Each row dequantized to f32 and quantized to `to` with the active kernel table, rows split
// across `threads` OpenMP threads. RESOURCE_EXHAUSTED when the memory cannot be had;
// INVALID_ARGUMENT naming the row when a block format would be fed a NaN or Inf.
absl::StatusOr<ConvertedTensor> convert_tensor(const GgufTensor& t, kernels::Format to, int threads);

}  // namespace quantd::model
