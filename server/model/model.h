// A model held in memory: its GGUF mapping, its tensors (mapped or re-quantized), its
// config (llama_arch.h). Immutable once loaded and shared by reference count, so a request that
// holds a std::shared_ptr<const Model> keeps it alive through an UnloadModel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/kernels/formats.h"
#include "server/model/gguf.h"
#include "server/model/llama_arch.h"

namespace quantd::model {

struct ModelTensor {
  std::string name;
  kernels::Format format = kernels::Format::kF32;
  std::vector<int64_t> ne;        // ne[0] = row length
  const uint8_t* data = nullptr;  // into the mapping, or into Model-owned memory
  uint64_t bytes = 0;
  bool mapped = true;             // false when re-quantized at load (owned copy)
  int64_t rows() const;           // product of ne[1..]
};

struct LoadOptions {
  // Re-quantize F32/F16/BF16 weight matrices (>= 2 dims) to this format at load (nullopt: keep
  // as is). 1-D tensors (norms) stay as they are; a matrix whose rows are not a multiple of
  // the target's block size (stories260K's 172-wide ffn_down) becomes F16 instead, the
  // fallback llama.cpp's quantizer uses. Tensors of other types (already quantized) and tensors
  // already in the wanted format stay in the mapping. Must be a format with a vec_dot (not q8_1).
  // A NaN or Inf bound for a block format fails the load (INVALID_ARGUMENT naming it).
  std::optional<kernels::Format> target;
  int threads = 1;  // OpenMP threads for re-quantization; <= 0: OpenMP's default
};

class Model {
 public:
  // Maps the file and validates it: general.architecture must have a table in llama_arch.h
  // (INVALID_ARGUMENT "unsupported architecture" otherwise), the llama.* hyper-parameters
  // present and consistent, and every tensor of the table present with the expected shape
  // (check_llama_tensors). Re-quantizes as `options` asks (requantize.h).
  static absl::StatusOr<std::shared_ptr<const Model>> load(const std::string& name, const std::string& path,
                                                           const LoadOptions& options);
  // Same over a file already opened or parsed (tests, fuzzing); `path` is informational.
  static absl::StatusOr<std::shared_ptr<const Model>> from_gguf(const std::string& name, const std::string& path,
                                                                std::shared_ptr<const GgufFile> gguf,
                                                                const LoadOptions& options);
  // A model built from an existing one (QuantizeModel): tensors given, owned here; keeps
  // `source` alive when tensors still point into its mapping or memory. Tensors with
  // mapped == false must live in `owned`; their bytes are this model's bytes_allocated().
  static std::shared_ptr<const Model> derive(const std::string& name, std::shared_ptr<const Model> source,
                                             std::vector<ModelTensor> tensors,
                                             std::vector<std::unique_ptr<uint8_t[]>> owned);

  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }
  const GgufFile& gguf() const { return *gguf_; }
  const LlamaConfig& params() const { return params_; }
  const std::vector<ModelTensor>& tensors() const { return tensors_; }
  const ModelTensor* tensor(const std::string& name) const;  // nullptr when absent

  uint64_t bytes_mapped() const;     // tensor bytes read straight from the mapping (or the source's)
  uint64_t bytes_allocated() const;  // tensor bytes in memory this model owns (its re-quantized tensors)

 private:
  Model() = default;
  std::string name_;
  std::string path_;
  std::shared_ptr<const GgufFile> gguf_;
  std::shared_ptr<const Model> source_;
  // Fills by_name_ and the byte counts from tensors_.
  void index_tensors();

  LlamaConfig params_;
  std::vector<ModelTensor> tensors_;
  std::map<std::string, size_t> by_name_;
  std::vector<std::unique_ptr<uint8_t[]>> owned_;
  uint64_t bytes_mapped_ = 0;
  uint64_t bytes_allocated_ = 0;
};

}  // namespace quantd::model
