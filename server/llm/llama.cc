#include "server/llm/llama.h"

#include <new>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/llm/session.h"
#include "server/model/llama_params.h"

namespace quantd::llm {
namespace {

using model::TensorRole;

// Every error of create() names the model.
absl::Status in_model(const model::Model& m, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("model '", m.name(), "': ", s.message()));
}

// A matrix the matvec kernels can read (its shape was checked against the table already).
absl::StatusOr<kernels::WeightMatrix> matrix(const kernels::KernelTable& k, const model::ModelTensor& t) {
  const int64_t cols = t.ne[0], rows = t.ne[1];
  const kernels::FormatInfo* f = kernels::find_format(t.format);
  if (f == nullptr || k[t.format].vec_dot == nullptr || k[t.format].dequantize_row == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' has type id ",
                                                   static_cast<uint32_t>(t.format),
                                                   ", which is not a weight format quantd can multiply"));
  }
  if (cols % f->block_elems != 0) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' rows of ", cols,
                                                   " values are not a whole number of ", sv(f->name),
                                                   " blocks of ", f->block_elems));
  }
  const uint64_t need = static_cast<uint64_t>(kernels::row_bytes(*f, cols)) * static_cast<uint64_t>(rows);
  if (t.data == nullptr || t.bytes < need) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' holds ", t.bytes, " bytes, expected ", need));
  }
  return kernels::WeightMatrix{t.format, t.data, rows, cols};
}

// A norm vector (F32, checked against the table already), copied.
absl::StatusOr<std::vector<float>> vector(const model::ModelTensor& t) {
  const int64_t n = t.ne[0];
  if (t.data == nullptr || t.bytes < n * sizeof(float)) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' holds ", t.bytes, " bytes, expected ",
                                                   n * sizeof(float)));
  }
  const auto* x = reinterpret_cast<const float*>(t.data);
  return std::vector<float>(x, x + n);
}

uint64_t matrix_bytes(const kernels::WeightMatrix& w) {
  return static_cast<uint64_t>(kernels::row_bytes(*kernels::find_format(w.format), w.cols)) *
         static_cast<uint64_t>(w.rows);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Llama>> Llama::create(std::shared_ptr<const model::Model> model) {
  if (model == nullptr) return absl::InvalidArgumentError("no model");
  if (const std::string err = kernels::select_kernels(); !err.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("kernel selection failed: ", err));
  }
  std::shared_ptr<Llama> l(new Llama());
  l->model_ = std::move(model);
  l->kernels_ = &kernels::kernels();
  QUANTD_RETURN_IF_ERROR(in_model(*l->model_, l->bind()));
  return std::shared_ptr<const Llama>(std::move(l));
}

absl::Status Llama::bind() {
  const model::Model& m = *model_;
  const model::LlamaConfig& c = m.params();
  QUANTD_ASSIGN_OR_RETURN(const model::Architecture* arch, model::find_architecture(c.architecture));
  // Derived models (Model::derive) come with any tensor list: the same check as at load.
  QUANTD_RETURN_IF_ERROR(model::check_llama_tensors(m));

  layers_.resize(c.n_layer);
  // Where the forward pass keeps each role's weight: a matrix or a norm vector.
  struct Slot {
    kernels::WeightMatrix* matrix = nullptr;
    std::vector<float>* norm = nullptr;
  };
  const auto slot = [this](TensorRole role, int64_t layer) -> Slot {
    LayerWeights* w = layer >= 0 ? &layers_[layer] : nullptr;
    switch (role) {
      case TensorRole::kTokenEmbd: return {&token_embd_};
      case TensorRole::kOutputNorm: return {nullptr, &output_norm_};
      case TensorRole::kOutput: return {&output_};
      case TensorRole::kAttnQ: return {&w->wq};
      case TensorRole::kAttnK: return {&w->wk};
      case TensorRole::kAttnV: return {&w->wv};
      case TensorRole::kAttnOutput: return {&w->wo};
      case TensorRole::kAttnNorm: return {nullptr, &w->attn_norm};
      case TensorRole::kFfnGate: return {&w->gate};
      case TensorRole::kFfnDown: return {&w->down};
      case TensorRole::kFfnUp: return {&w->up};
      case TensorRole::kFfnNorm: return {nullptr, &w->ffn_norm};
    }
    return {};
  };
  for (const model::TensorSlot& s : model::tensor_slots(*arch, c)) {
    const model::ModelTensor* t = m.tensor(s.name);
    const Slot dst = slot(s.spec->role, s.layer);
    if (dst.norm != nullptr && t != nullptr) {
      QUANTD_ASSIGN_OR_RETURN(*dst.norm, vector(*t));
    } else if (dst.matrix != nullptr && t != nullptr) {
      QUANTD_ASSIGN_OR_RETURN(*dst.matrix, matrix(*kernels_, *t));
    } else if (dst.matrix != nullptr && s.spec->tied_to) {
      // Absent and tied (check_llama_tensors let it through): the tensor it stands for, bound
      // earlier in table order.
      *dst.matrix = *slot(*s.spec->tied_to, s.layer).matrix;
      if (s.spec->role == TensorRole::kOutput) tied_ = true;
    } else {
      return absl::InternalError(absl::StrCat("tensor '", s.name, "' has no place in the forward pass"));
    }
  }

  // Per token: every layer matrix, the classifier, one embedding row and the norms.
  uint64_t bytes = matrix_bytes(output_) + matrix_bytes(token_embd_) / c.n_vocab +
                   sizeof(float) * c.n_embd * (2 * c.n_layer + 1);
  for (const LayerWeights& w : layers_) {
    for (const kernels::WeightMatrix* mat : {&w.wq, &w.wk, &w.wv, &w.wo, &w.gate, &w.up, &w.down}) {
      bytes += matrix_bytes(*mat);
    }
  }
  bytes_per_token_ = bytes;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Session>> Llama::new_session(int64_t max_ctx) const {
  const int64_t trained = config().n_ctx_train;
  if (max_ctx <= 0 || max_ctx > trained) max_ctx = trained;
  try {
    return std::unique_ptr<Session>(new Session(shared_from_this(), max_ctx));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate a KV cache of ",
                                                     Session::kv_cache_bytes_for(config(), max_ctx),
                                                     " bytes for ", max_ctx, " positions"));
  }
}

}  // namespace quantd::llm
