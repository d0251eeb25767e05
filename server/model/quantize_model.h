// Re-quantizing a loaded model into a new one, tensor by tensor, with the error of each.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/kernels/formats.h"
#include "server/model/model.h"
#include "server/quant/error_stats.h"

namespace quantd::model {

struct QuantizeModelOptions {
  kernels::Format target = kernels::Format::kQ8_0;
  // Tensors kept as they are: exact names or globs with '*' ("*norm*", "output.weight").
  std::vector<std::string> keep;
  // For matrices whose rows are not a multiple of the target's block size.
  kernels::Format fallback = kernels::Format::kF16;
  int threads = 1;
};

struct TensorReport {
  std::string name;
  kernels::Format before = kernels::Format::kF32;
  kernels::Format after = kernels::Format::kF32;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  std::optional<quant::ErrorStats> error;  // unset for tensors kept as they were
  std::string note;                        // why kept or fallen back
};

struct QuantizeModelResult {
  std::shared_ptr<const Model> model;
  std::vector<TensorReport> tensors;
};

// Every matrix (>= 2 dims) not kept is dequantized to f32 and quantized to the target (or the
// fallback); 1-D tensors (norms) are kept. Kept tensors point into the source (no copy).
absl::StatusOr<QuantizeModelResult> quantize_model(std::shared_ptr<const Model> source, const std::string& name,
                                                   const QuantizeModelOptions& options);

// Writes a model as GGUF v3: the source file's metadata (general.file_type and
// general.quantization_version updated for `target`), then every tensor.
absl::Status write_model(const Model& model, kernels::Format target, const std::string& path);

// '*' matches any run of characters; everything else matches itself.
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace quantd::model
