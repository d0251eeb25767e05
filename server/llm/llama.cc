#include "server/llm/llama.h"

#include <new>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status.h"
#include "server/llm/session.h"

namespace quantd::llm {
namespace {

const model::ModelTensor* find(const model::Model& m, const std::string& name, absl::Status* error) {
  const model::ModelTensor* t = m.tensor(name);
  if (t == nullptr && error->ok()) {
    *error = absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': tensor '", name, "' is missing"));
  }
  return t;
}

absl::Status check_shape(const model::Model& m, const model::ModelTensor& t, std::vector<int64_t> want) {
  if (t.ne != want) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': tensor '", t.name, "' has shape [",
                                                   absl::StrJoin(t.ne, ", "), "], expected [",
                                                   absl::StrJoin(want, ", "), "]"));
  }
  return absl::OkStatus();
}

// A matrix of `rows` rows of `cols` values the matvec kernels can read.
absl::StatusOr<kernels::WeightMatrix> matrix(const model::Model& m, const kernels::KernelTable& k,
                                             const std::string& name, int64_t cols, int64_t rows) {
  absl::Status error;
  const model::ModelTensor* t = find(m, name, &error);
  if (t == nullptr) return error;
  if (absl::Status s = check_shape(m, *t, {cols, rows}); !s.ok()) return s;
  const kernels::FormatInfo* f = kernels::find_format(t->format);
  if (f == nullptr || k[t->format].vec_dot == nullptr || k[t->format].dequantize_row == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': tensor '", name, "' has type id ",
                                                   static_cast<uint32_t>(t->format),
                                                   ", which is not a weight format quantd can multiply"));
  }
  if (cols % f->block_elems != 0) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': tensor '", name, "' rows of ", cols,
                                                   " values are not a whole number of ", sv(f->name),
                                                   " blocks of ", f->block_elems));
  }
  const uint64_t need = static_cast<uint64_t>(kernels::row_bytes(*f, cols)) * static_cast<uint64_t>(rows);
  if (t->data == nullptr || t->bytes < need) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': tensor '", name, "' holds ", t->bytes,
                                                   " bytes, expected ", need));
  }
  return kernels::WeightMatrix{t->format, t->data, rows, cols};
}

// A norm vector of n values, as F32 (stored F32 in every llama.cpp file; other float formats
// are converted).
absl::StatusOr<std::vector<float>> vector(const model::Model& m, const kernels::KernelTable& k,
                                          const std::string& name, int64_t n) {
  absl::Status error;
  const model::ModelTensor* t = find(m, name, &error);
  if (t == nullptr) return error;
  if (absl::Status s = check_shape(m, *t, {n}); !s.ok()) return s;
  const kernels::FormatInfo* f = kernels::find_format(t->format);
  if (f == nullptr || k[t->format].dequantize_row == nullptr || n % f->block_elems != 0 ||
      t->data == nullptr || t->bytes < kernels::row_bytes(*f, n)) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': tensor '", name,
                                                   "' is not a readable vector of ", n, " values"));
  }
  std::vector<float> out(n);
  k[t->format].dequantize_row(t->data, out.data(), n);
  return out;
}

uint64_t matrix_bytes(const kernels::WeightMatrix& w) {
  return static_cast<uint64_t>(kernels::row_bytes(*kernels::find_format(w.format), w.cols)) *
         static_cast<uint64_t>(w.rows);
}

absl::StatusOr<LlamaConfig> config_from(const model::Model& m) {
  const model::LlamaParams& p = m.params();
  if (p.architecture != "llama") {
    return absl::InvalidArgumentError(
        absl::StrCat("model '", m.name(), "' has architecture '", p.architecture, "', expected 'llama'"));
  }
  LlamaConfig c;
  c.n_vocab = p.n_vocab;
  c.n_embd = p.n_embd;
  c.n_layer = p.n_layer;
  c.n_head = p.n_head;
  c.n_head_kv = p.n_head_kv;
  c.n_ff = p.n_ff;
  c.n_rot = p.n_rot;
  c.n_ctx_train = p.n_ctx_train;
  c.rope_freq_base = p.rope_freq_base;
  c.rms_eps = p.rms_eps;
  if (c.n_vocab <= 0 || c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 || c.n_ff <= 0 ||
      c.n_ctx_train <= 0 || c.n_embd % c.n_head != 0 || c.n_head % c.n_head_kv != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", m.name(), "': inconsistent hyper-parameters (n_vocab ", c.n_vocab, ", n_embd ", c.n_embd,
        ", n_layer ", c.n_layer, ", n_head ", c.n_head, ", n_head_kv ", c.n_head_kv, ", n_ff ", c.n_ff,
        ", n_ctx ", c.n_ctx_train, ")"));
  }
  c.head_dim = c.n_embd / c.n_head;
  if (c.n_rot <= 0) c.n_rot = c.head_dim;
  if (c.n_rot % 2 != 0 || c.n_rot > c.head_dim) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': rope dimension ", c.n_rot,
                                                   " must be even and at most the head size ", c.head_dim));
  }
  if (!(c.rope_freq_base > 0.0f) || !(c.rms_eps > 0.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.name(), "': rope base ", c.rope_freq_base,
                                                   " and rms epsilon ", c.rms_eps, " must be > 0"));
  }
  return c;
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
  const model::Model& m = *l->model_;
  const kernels::KernelTable& k = *l->kernels_;

  absl::StatusOr<LlamaConfig> config = config_from(m);
  if (!config.ok()) return config.status();
  l->config_ = *config;
  const LlamaConfig& c = l->config_;

  absl::StatusOr<kernels::WeightMatrix> embd = matrix(m, k, "token_embd.weight", c.n_embd, c.n_vocab);
  if (!embd.ok()) return embd.status();
  l->token_embd_ = *embd;
  l->tied_ = m.tensor("output.weight") == nullptr;
  absl::StatusOr<kernels::WeightMatrix> out =
      l->tied_ ? embd : matrix(m, k, "output.weight", c.n_embd, c.n_vocab);
  if (!out.ok()) return out.status();
  l->output_ = *out;
  absl::StatusOr<std::vector<float>> out_norm = vector(m, k, "output_norm.weight", c.n_embd);
  if (!out_norm.ok()) return out_norm.status();
  l->output_norm_ = *std::move(out_norm);

  uint64_t bytes = matrix_bytes(l->output_) + matrix_bytes(l->token_embd_) / c.n_vocab +
                   sizeof(float) * c.n_embd * (2 * c.n_layer + 1);
  l->layers_.resize(c.n_layer);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = absl::StrCat("blk.", i, ".");
    LayerWeights& w = l->layers_[i];
    for (auto [name, dst] : {std::pair{"attn_norm.weight", &w.attn_norm}, std::pair{"ffn_norm.weight", &w.ffn_norm}}) {
      absl::StatusOr<std::vector<float>> v = vector(m, k, p + name, c.n_embd);
      if (!v.ok()) return v.status();
      *dst = *std::move(v);
    }
    struct Spec {
      const char* name;
      kernels::WeightMatrix* dst;
      int64_t cols;
      int64_t rows;
    };
    for (const Spec& s : {Spec{"attn_q.weight", &w.wq, c.n_embd, c.n_head * c.head_dim},
                          Spec{"attn_k.weight", &w.wk, c.n_embd, c.kv_dim()},
                          Spec{"attn_v.weight", &w.wv, c.n_embd, c.kv_dim()},
                          Spec{"attn_output.weight", &w.wo, c.n_head * c.head_dim, c.n_embd},
                          Spec{"ffn_gate.weight", &w.gate, c.n_embd, c.n_ff},
                          Spec{"ffn_up.weight", &w.up, c.n_embd, c.n_ff},
                          Spec{"ffn_down.weight", &w.down, c.n_ff, c.n_embd}}) {
      absl::StatusOr<kernels::WeightMatrix> mat = matrix(m, k, p + s.name, s.cols, s.rows);
      if (!mat.ok()) return mat.status();
      *s.dst = *mat;
      bytes += matrix_bytes(*mat);
    }
  }
  l->bytes_per_token_ = bytes;
  return std::shared_ptr<const Llama>(std::move(l));
}

absl::StatusOr<std::unique_ptr<Session>> Llama::new_session(int64_t max_ctx) const {
  if (max_ctx <= 0 || max_ctx > config_.n_ctx_train) max_ctx = config_.n_ctx_train;
  try {
    return std::unique_ptr<Session>(new Session(shared_from_this(), max_ctx));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate a KV cache of ",
                                                     Session::kv_cache_bytes_for(config_, max_ctx),
                                                     " bytes for ", max_ctx, " positions"));
  }
}

}  // namespace quantd::llm
