// The one re-quantizer, behind both Model::load (LoadOptions.target) and quantize_model():
// which format each tensor gets, and the conversion itself, row by row.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "quantd/kernels/formats.h"
#include "server/model/model.h"
#include "server/quant/error_stats.h"

namespace quantd::model {

// What happened to one tensor.
struct TensorReport {
  std::string name;
  kernels::Format before = kernels::Format::kF32;
  kernels::Format after = kernels::Format::kF32;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  std::optional<quant::ErrorStats> error;  // unset for tensors kept as they were
  std::string note;                        // why kept or fallen back
};

struct RequantizeOptions {
  kernels::Format target = kernels::Format::kQ8_0;
  // For matrices whose rows are not a multiple of the target's block size (llama.cpp's F16).
  kernels::Format fallback = kernels::Format::kF16;
  std::vector<std::string> keep;  // tensors kept as they are: exact names or '*' globs
  // Load time: tensors not in a float format, and tensors already in the format they would
  // get, stay as they are (in the mapping). Otherwise every matrix is converted.
  bool keep_quantized = false;
  // Restore each converted row and accumulate its error (costs a dequantize per row).
  bool measure_error = false;
  int threads = 1;  // OpenMP threads; <= 0: OpenMP's default
};

// INVALID_ARGUMENT unless the target is a format quantd can multiply (not an activation
// format) and the fallback f32, f16 or bf16; FAILED_PRECONDITION when no kernels can be selected.
absl::Status check_requantize_options(const RequantizeOptions& options);

// The format a matrix with rows of `row_length` values gets: `target` when the rows are a whole
// number of its blocks, else `fallback`.
kernels::Format matrix_format(int64_t row_length, kernels::Format target, kernels::Format fallback);

struct RequantizedTensor {
  ModelTensor tensor;                // the input itself when kept
  std::unique_ptr<uint8_t[]> owned;  // tensor.data when converted (tensor.mapped is false)
  TensorReport report;
};

// Plans `t` (kept: 1-D, matched by `keep`, or already right under keep_quantized; else the
// target or the fallback) and converts it: each row dequantized to f32 and quantized with the
// active kernel table, rows split across OpenMP threads (same bytes for any thread count; the
// error stats are merged in a fixed order, so they too do not depend on it).
// INVALID_ARGUMENT naming the tensor, row and column of the first NaN/Inf when the new format
// is block-quantized (float formats carry them through); RESOURCE_EXHAUSTED when the memory
// cannot be had. check_requantize_options() must have passed.
absl::StatusOr<RequantizedTensor> requantize_tensor(const ModelTensor& t, const RequantizeOptions& options);

// '*' matches any run of characters; everything else matches itself.
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace quantd::model
