// Re-quantizing a loaded model into a new one, tensor by tensor, with the error of each.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/kernels/formats.h"
#include "server/model/model.h"
#include "server/model/requantize.h"

namespace quantd::model {

struct QuantizeModelOptions {
  kernels::Format target = kernels::Format::kQ8_0;
  // Tensors kept as they are: exact names or globs with '*' ("*norm*", "output.weight").
  std::vector<std::string> keep;
  // For matrices whose rows are not a multiple of the target's block size.
  kernels::Format fallback = kernels::Format::kF16;
  int threads = 1;  // OpenMP threads; <= 0: OpenMP's default
};

struct QuantizeModelResult {
  std::shared_ptr<const Model> model;
  std::vector<TensorReport> tensors;
};

// Every matrix (>= 2 dims) not kept is dequantized to f32 and quantized to the target (or the
// fallback); 1-D tensors (norms) are kept. Kept tensors point into the source (no copy).
// One TensorReport per tensor, in the source's order, with the error of each converted one.
// Errors as requantize_tensor(): INVALID_ARGUMENT naming a tensor with a NaN/Inf,
// RESOURCE_EXHAUSTED when memory runs out; INVALID_ARGUMENT for a bad target or fallback.
absl::StatusOr<QuantizeModelResult> quantize_model(std::shared_ptr<const Model> source, const std::string& name,
                                                   const QuantizeModelOptions& options);

// Writes a model as GGUF v3: the source file's metadata in the source's key order
// (general.file_type and general.quantization_version updated in place for `target`, appended
// when the source has none), then every tensor.
absl::Status write_model(const Model& model, kernels::Format target, const std::string& path);

}  // namespace quantd::model
