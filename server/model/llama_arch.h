// The one description of a Llama-architecture model: its hyper-parameters (LlamaConfig) and
// the table of the tensors it is made of (name, shape as a function of the config, whether it
// may be absent). The validator at load, the forward pass's weight binding, the synthetic
// generator and the llama2.c converter all walk this table, so they cannot disagree about a
// name or a shape. Another architecture would be another table in llama_arch.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace quantd::model {

// Hyper-parameters from the GGUF metadata ("<architecture>.*" keys, llama.cpp's names).
struct LlamaConfig {
  std::string architecture = "llama";  // general.architecture
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;             // llama.context_length
  int64_t n_embd = 0;                  // llama.embedding_length
  int64_t n_layer = 0;                 // llama.block_count
  int64_t n_head = 0;                  // llama.attention.head_count
  int64_t n_head_kv = 0;               // llama.attention.head_count_kv (default n_head)
  int64_t n_ff = 0;                    // llama.feed_forward_length
  int64_t n_rot = 0;                   // llama.rope.dimension_count (default head_dim())
  float rope_freq_base = 10000.0f;     // llama.rope.freq_base
  float rms_eps = 1e-5f;               // llama.attention.layer_norm_rms_epsilon

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t kv_dim() const { return n_head_kv * head_dim(); }
};

// What a tensor is for: the forward pass binds each role to one of its weights.
enum class TensorRole : uint8_t {
  kTokenEmbd, kOutputNorm, kOutput,
  kAttnQ, kAttnK, kAttnV, kAttnOutput, kAttnNorm, kFfnGate, kFfnDown, kFfnUp, kFfnNorm,
};

using TensorShape = std::vector<int64_t>;  // ne as GGUF stores it: ne[0] is the row length

struct TensorSpec {
  TensorRole role;
  const char* pattern;  // "output.weight", or "blk.%d.attn_q.weight" for a per-layer tensor
  bool per_layer;
  // A role whose weight stands in when this tensor is absent (output.weight tied to
  // token_embd.weight); nullopt: the tensor is required.
  std::optional<TensorRole> tied_to;
  // One dimension: a norm vector, F32 in every llama.cpp file.
  TensorShape (*shape)(const LlamaConfig&);
};

struct Architecture {
  std::string_view name;                // general.architecture and its metadata key prefix
  std::span<const TensorSpec> tensors;  // in llama.cpp's file order: globals, then a layer's

  const TensorSpec* find(TensorRole role) const;  // nullptr when the table has no such row
};

// The table for general.architecture `name`. INVALID_ARGUMENT "unsupported architecture ..."
// for any other: the one place that says which architectures quantd runs.
absl::StatusOr<const Architecture*> find_architecture(std::string_view name);

// One table row made concrete for a config (and a layer).
struct TensorSlot {
  const TensorSpec* spec;
  int64_t layer;  // -1 for a global tensor
  std::string name;
  TensorShape ne;
};

// Every tensor of a model, in file order: the globals, then layer 0's, layer 1's, ...
std::vector<TensorSlot> tensor_slots(const Architecture& arch, const LlamaConfig& config);

}  // namespace quantd::model
