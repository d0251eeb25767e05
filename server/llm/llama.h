// A Llama-architecture model ready to run: the validated weights of a loaded model::Model,
// viewed in place (no copy of any weight matrix), plus the hyper-parameters the forward pass
// needs. Immutable and shared by all streams; each stream runs in its own Session (session.h).
//
// Weight matrices may be F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0, mixed freely (llama.cpp
// files keep e.g. F16 ffn_down next to Q4_0 attention). Norm vectors are copied to F32 (they are
// n_embd values each). The classifier is output.weight, or token_embd.weight when the file has
// no output tensor (tied embeddings).
//
// Thread safety: const methods only; safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/kernels/kernels.h"
#include "quantd/kernels/matmul.h"
#include "server/model/model.h"

namespace quantd::llm {

class Session;

struct LlamaConfig {
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t n_rot = 0;
  int64_t n_ctx_train = 0;
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-5f;
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

struct LayerWeights {
  std::vector<float> attn_norm;  // n_embd
  std::vector<float> ffn_norm;   // n_embd
  kernels::WeightMatrix wq;      // n_embd rows of n_embd
  kernels::WeightMatrix wk;      // kv_dim rows of n_embd
  kernels::WeightMatrix wv;      // kv_dim rows of n_embd
  kernels::WeightMatrix wo;      // n_embd rows of n_embd
  kernels::WeightMatrix gate;    // n_ff rows of n_embd
  kernels::WeightMatrix up;      // n_ff rows of n_embd
  kernels::WeightMatrix down;    // n_embd rows of n_ff
};

class Llama : public std::enable_shared_from_this<Llama> {
 public:
  // Checks every tensor the forward pass reads: present, of the implied shape, in a format with
  // a dot-product kernel, rows a whole number of blocks, enough bytes. INVALID_ARGUMENT naming
  // the tensor otherwise; FAILED_PRECONDITION when no kernel table can be selected.
  static absl::StatusOr<std::shared_ptr<const Llama>> create(std::shared_ptr<const model::Model> model);

  // A new stream with a KV cache for max_ctx positions: max_ctx <= 0 means the model's trained
  // context length; larger values are capped at it. RESOURCE_EXHAUSTED when the cache cannot be
  // allocated.
  absl::StatusOr<std::unique_ptr<Session>> new_session(int64_t max_ctx) const;

  const LlamaConfig& config() const { return config_; }
  const model::Model& model() const { return *model_; }
  const kernels::KernelTable& kernel_table() const { return *kernels_; }
  const kernels::WeightMatrix& token_embd() const { return token_embd_; }
  const kernels::WeightMatrix& output() const { return output_; }
  bool tied_output() const { return tied_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }

  // Weight bytes one decoded token reads: every layer matrix, the classifier, one embedding row
  // and the norms. Divide memory bandwidth by this for the decode speed limit.
  uint64_t weight_bytes_per_token() const { return bytes_per_token_; }

 private:
  Llama() = default;
  std::shared_ptr<const model::Model> model_;
  const kernels::KernelTable* kernels_ = nullptr;
  LlamaConfig config_;
  kernels::WeightMatrix token_embd_;
  kernels::WeightMatrix output_;
  bool tied_ = false;
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
  uint64_t bytes_per_token_ = 0;
};

}  // namespace quantd::llm
