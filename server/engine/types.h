// The engine's request and result types: plain C++, what the handlers convert messages to and from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/llm/generate.h"
#include "server/model/model.h"
#include "server/quant/error_stats.h"
#include "server/quant/quantize.h"

namespace quantd::engine {

// A tensor's values as floats (viewed in place or widened by the transport).
struct FloatTensor {
  const float* data = nullptr;
  int64_t count = 0;
  std::vector<int64_t> shape;
  int source_bytes_per_value = 4;  // as it arrived (F32 4, F16/BF16 2): for the bytes-in metric
};

struct QuantizeOptions {
  bool error_stats = true;       // compare the restored tensor with the input
  bool restore = false;          // return the restored (fake-quantized) values
  bool return_quantized = true;  // false: the caller drops the packed data (counts 0 bytes out)
};

struct QuantizeResult {
  quant::QuantizedTensor quantized;
  std::optional<quant::ErrorStats> error;
  std::vector<float> restored;  // only with QuantizeOptions::restore
  int64_t compute_micros = 0;   // admission wait included
};

struct ModelSummary {
  std::string name;
  std::string path;  // as the client would name it: relative to model_dir when inside it
  std::string architecture;
  int64_t parameters = 0;
  uint64_t bytes_mapped = 0;
  uint64_t bytes_allocated = 0;
  int32_t tensor_count = 0;
  int64_t load_micros = 0;  // set by load_model
};

struct TensorDetail {
  std::string name;
  std::vector<int64_t> shape;
  std::string type;  // "q8_0"
  uint32_t ggml_type = 0;
  uint64_t bytes = 0;
  bool mapped = true;
};

struct ModelDetails {
  ModelSummary summary;
  model::LlamaConfig params;
  std::vector<TensorDetail> tensors;
};

struct QuantizeModelRequest {
  std::string source;
  std::string output_name;
  std::string target_type;    // required: "q4_0", ...
  std::string fallback_type;  // optional
  std::vector<std::string> keep;
  std::string output_path;  // optional, relative to model_dir
};

struct TensorChange {
  std::string name;
  std::string type_before;
  std::string type_after;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  std::optional<quant::ErrorStats> error;
  std::string note;
};

struct QuantizeModelOutcome {
  ModelSummary model;
  std::string written_path;  // as the client named it; empty when no file was written
  std::vector<TensorChange> tensors;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
};

struct ServerStatus {
  std::string isa;
  std::vector<std::string> available_isas;
  int threads = 0;
  int max_concurrent_generations = 0;
  std::vector<ModelSummary> models;
};

struct GenerateRequest {
  std::string model;
  llm::GenerateParams params;  // add_bos is overridden by the tokenizer's default unless set below
  std::optional<bool> add_bos;
};

}  // namespace quantd::engine
