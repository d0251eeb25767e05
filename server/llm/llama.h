// A Llama-architecture model ready to run: the validated weights of a loaded model::Model,
// viewed in place (no copy of any weight matrix), bound by the architecture's tensor table;
// the hyper-parameters are the model's model::LlamaConfig. Immutable and shared by all
// streams; each stream runs in its own Session (session.h).
//
// Weight matrices may be F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0, mixed freely (llama.cpp
// files keep e.g. F16 ffn_down next to Q4_0 attention). Norm vectors are F32 and copied (they
// are n_embd values each). The classifier is output.weight, or token_embd.weight when the file has
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
  // Binds every tensor of the architecture's table (model/llama_arch.h) after checking it:
  // present and of the implied shape (model::check_llama_tensors, the check Model::load makes),
  // in a format with a dot-product kernel, rows a whole number of blocks, enough bytes.
  // INVALID_ARGUMENT "model '<name>': ..." naming the tensor otherwise; FAILED_PRECONDITION when
  // no kernel table can be selected.
  static absl::StatusOr<std::shared_ptr<const Llama>> create(std::shared_ptr<const model::Model> model);

  // A new stream with a KV cache for max_ctx positions: max_ctx <= 0 means the model's trained
  // context length; larger values are capped at it. RESOURCE_EXHAUSTED when the cache cannot be
  // allocated.
  absl::StatusOr<std::unique_ptr<Session>> new_session(int64_t max_ctx) const;

  // The model's config (the same object as model().params()).
  const model::LlamaConfig& config() const { return model_->params(); }
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
  // Fills the weights from model_, walking the architecture's table.
  absl::Status bind();
  std::shared_ptr<const model::Model> model_;
  const kernels::KernelTable* kernels_ = nullptr;
  kernels::WeightMatrix token_embd_;
  kernels::WeightMatrix output_;
  bool tied_ = false;
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
  uint64_t bytes_per_token_ = 0;
};

}  // namespace quantd::llm
