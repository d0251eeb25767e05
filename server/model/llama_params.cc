// Llama hyper-parameters from GGUF metadata, each checked against a sane range, and the
// tensor shapes they imply: a file that passes here cannot make the forward pass index
// outside a tensor.
#include "server/model/llama_params.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "quantd/kernels/formats.h"
#include "server/common/status.h"

namespace quantd::model {
namespace {

// Generous bounds: the largest public Llama-family models are far inside them; values beyond
// are corrupt files, and would overflow the KV cache and scratch size computations.
constexpr int64_t kMaxEmbd = 1 << 17;
constexpr int64_t kMaxLayers = 1 << 10;
constexpr int64_t kMaxHeads = 1 << 12;
constexpr int64_t kMaxFf = 1 << 20;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxCtx = 1 << 24;

// A missing required key is the file's fault, not a missing model: INVALID_ARGUMENT.
absl::Status required(absl::Status s) {
  if (absl::IsNotFound(s)) return absl::InvalidArgumentError(absl::StrCat("required ", s.message()));
  return s;
}

absl::StatusOr<int64_t> get_int(const GgufFile& f, const std::string& key, int64_t lo, int64_t hi) {
  auto got = f.get_uint(key);
  if (!got.ok()) return required(got.status());
  const uint64_t v = *got;
  if (v < static_cast<uint64_t>(lo) || v > static_cast<uint64_t>(hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata key '", key, "' = ", v, " is outside [", lo, ", ", hi, "]"));
  }
  return static_cast<int64_t>(v);
}

// An optional key: its default when absent, an error when present but wrong.
absl::StatusOr<int64_t> get_int_or(const GgufFile& f, const std::string& key, int64_t lo, int64_t hi,
                                   int64_t fallback) {
  if (!f.metadata().count(key)) return fallback;
  return get_int(f, key, lo, hi);
}

absl::StatusOr<float> get_positive_float(const GgufFile& f, const std::string& key, double hi,
                                         std::optional<float> fallback) {
  if (fallback && !f.metadata().count(key)) return *fallback;
  auto got = f.get_float(key);
  if (!got.ok()) return required(got.status());
  const double v = *got;
  if (!(v > 0.0) || !(v <= hi)) {
    return absl::InvalidArgumentError(absl::StrCat("metadata key '", key, "' = ", v, " is outside (0, ", hi, "]"));
  }
  return static_cast<float>(v);
}

absl::Status check_shape(const GgufFile& f, const std::string& name, std::vector<int64_t> want, bool required,
                         bool f32_only = false) {
  const GgufTensor* t = f.find_tensor(name);
  if (t == nullptr) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' is missing"));
  }
  if (t->ne != want) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has shape [", absl::StrJoin(t->ne, ", "),
                                                   "], expected [", absl::StrJoin(want, ", "), "]"));
  }
  if (f32_only && t->ggml_type != static_cast<uint32_t>(kernels::Format::kF32)) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has type ",
                                                   sv(ggml_type_name(t->ggml_type)),
                                                   ", expected f32 for a norm"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LlamaParams> parse_llama_params(const GgufFile& f) {
  LlamaParams p;
  auto arch = f.get_string("general.architecture");
  if (!arch.ok()) return required(arch.status());
  p.architecture = *arch;
  if (p.architecture != "llama") {
    return absl::InvalidArgumentError(absl::StrCat("unsupported architecture '", p.architecture,
                                                   "' (general.architecture); quantd runs 'llama'"));
  }
  QUANTD_ASSIGN_OR_RETURN(p.n_ctx_train, get_int(f, "llama.context_length", 1, kMaxCtx));
  QUANTD_ASSIGN_OR_RETURN(p.n_embd, get_int(f, "llama.embedding_length", 1, kMaxEmbd));
  QUANTD_ASSIGN_OR_RETURN(p.n_layer, get_int(f, "llama.block_count", 1, kMaxLayers));
  QUANTD_ASSIGN_OR_RETURN(p.n_ff, get_int(f, "llama.feed_forward_length", 1, kMaxFf));
  QUANTD_ASSIGN_OR_RETURN(p.n_head, get_int(f, "llama.attention.head_count", 1, kMaxHeads));
  QUANTD_ASSIGN_OR_RETURN(p.n_head_kv, get_int_or(f, "llama.attention.head_count_kv", 1, kMaxHeads, p.n_head));
  if (p.n_embd % p.n_head != 0) {
    return absl::InvalidArgumentError(absl::StrCat("llama.embedding_length ", p.n_embd,
                                                   " is not a multiple of llama.attention.head_count ", p.n_head));
  }
  if (p.n_head % p.n_head_kv != 0) {
    return absl::InvalidArgumentError(absl::StrCat("llama.attention.head_count ", p.n_head,
                                                   " is not a multiple of llama.attention.head_count_kv ",
                                                   p.n_head_kv));
  }
  const int64_t head_dim = p.n_embd / p.n_head;
  QUANTD_ASSIGN_OR_RETURN(p.n_rot, get_int_or(f, "llama.rope.dimension_count", 2, head_dim, head_dim));
  if (p.n_rot % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("metadata key 'llama.rope.dimension_count' = ", p.n_rot,
                                                   " is odd; RoPE rotates pairs"));
  }
  QUANTD_ASSIGN_OR_RETURN(p.rope_freq_base, get_positive_float(f, "llama.rope.freq_base", 1e12, 10000.0f));
  // llama.cpp requires this key for llama models; so do we.
  QUANTD_ASSIGN_OR_RETURN(p.rms_eps, get_positive_float(f, "llama.attention.layer_norm_rms_epsilon", 1.0,
                                                        std::nullopt));

  // Vocabulary size: the tokenizer's when present, else llama.vocab_size, else the embedding's.
  const GgufTensor* embd = f.find_tensor("token_embd.weight");
  if (f.metadata().count("tokenizer.ggml.tokens")) {
    QUANTD_ASSIGN_OR_RETURN(const GgufArray* tokens, f.get_array("tokenizer.ggml.tokens"));
    if (tokens->element_type != GgufType::kString) {
      return absl::InvalidArgumentError(absl::StrCat("metadata key 'tokenizer.ggml.tokens' holds ",
                                                     gguf_type_name(tokens->element_type), ", expected strings"));
    }
    p.n_vocab = static_cast<int64_t>(tokens->values.size());
    if (p.n_vocab < 1 || p.n_vocab > kMaxVocab) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer.ggml.tokens has ", p.n_vocab,
                                                     " tokens, outside [1, ", kMaxVocab, "]"));
    }
  } else if (f.metadata().count("llama.vocab_size")) {
    QUANTD_ASSIGN_OR_RETURN(p.n_vocab, get_int(f, "llama.vocab_size", 1, kMaxVocab));
  } else if (embd != nullptr && embd->ne.size() == 2 && embd->ne[1] <= kMaxVocab) {
    p.n_vocab = embd->ne[1];
  } else {
    return absl::InvalidArgumentError("no vocabulary size: neither tokenizer.ggml.tokens, llama.vocab_size "
                                      "nor a 2-D token_embd.weight");
  }
  return p;
}

absl::Status check_llama_tensors(const LlamaParams& p, const GgufFile& f) {
  const int64_t n_embd_kv = p.n_embd / p.n_head * p.n_head_kv;
  QUANTD_RETURN_IF_ERROR(check_shape(f, "token_embd.weight", {p.n_embd, p.n_vocab}, true));
  QUANTD_RETURN_IF_ERROR(check_shape(f, "output_norm.weight", {p.n_embd}, true, true));
  QUANTD_RETURN_IF_ERROR(check_shape(f, "output.weight", {p.n_embd, p.n_vocab}, false));
  for (int64_t i = 0; i < p.n_layer; ++i) {
    const std::string b = absl::StrCat("blk.", i, ".");
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "attn_norm.weight", {p.n_embd}, true, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "attn_q.weight", {p.n_embd, p.n_embd}, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "attn_k.weight", {p.n_embd, n_embd_kv}, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "attn_v.weight", {p.n_embd, n_embd_kv}, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "attn_output.weight", {p.n_embd, p.n_embd}, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "ffn_norm.weight", {p.n_embd}, true, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "ffn_gate.weight", {p.n_embd, p.n_ff}, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "ffn_down.weight", {p.n_ff, p.n_embd}, true));
    QUANTD_RETURN_IF_ERROR(check_shape(f, b + "ffn_up.weight", {p.n_embd, p.n_ff}, true));
  }
  return absl::OkStatus();
}

}  // namespace quantd::model
