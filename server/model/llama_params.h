// Reading, checking and writing a Llama description in GGUF terms: the config from and to the
// "<architecture>.*" metadata keys, and a model's tensors against the architecture's table.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/model/gguf.h"
#include "server/model/llama_arch.h"

namespace quantd::model {

class Model;

// The config from general.architecture and the "<architecture>.*" keys (docs/gguf.md "LLM"
// section). INVALID_ARGUMENT naming the key and value when one is missing, of the wrong type
// or out of range, and "unsupported architecture" (find_architecture) for anything but llama.
absl::StatusOr<LlamaConfig> parse_llama_config(const GgufFile& file);

// The "<architecture>.*" keys for `config`, appended in llama.cpp's converter order.
// rope.freq_base only when `with_rope_freq_base` (llama.cpp's llama2.c converter leaves it to
// the default).
void append_llama_config(const LlamaConfig& config, bool with_rope_freq_base,
                         std::vector<std::pair<std::string, GgufValue>>* metadata);

// Every tensor of the architecture's table is in `model` with the shape its config implies
// (a tied one may be absent), and norms are F32. INVALID_ARGUMENT naming the tensor otherwise
// ("tensor 'X' is missing", "... has shape [..], expected [..]"). Other tensors are allowed.
absl::Status check_llama_tensors(const Model& model);

}  // namespace quantd::model
