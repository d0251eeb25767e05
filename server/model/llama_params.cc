// Llama hyper-parameters from GGUF metadata, each checked against a sane range, and the
// tensor shapes they imply: a model that passes here cannot make the forward pass index
// outside a tensor.
#include "server/model/llama_params.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "quantd/kernels/formats.h"
#include "server/common/status.h"
#include "server/model/model.h"

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

// The "<architecture>." key suffixes, shared by the reader and the writer.
constexpr const char* kContextLength = "context_length";
constexpr const char* kEmbeddingLength = "embedding_length";
constexpr const char* kFeedForwardLength = "feed_forward_length";
constexpr const char* kHeadCount = "attention.head_count";
constexpr const char* kHeadCountKv = "attention.head_count_kv";
constexpr const char* kBlockCount = "block_count";
constexpr const char* kRopeDimensionCount = "rope.dimension_count";
constexpr const char* kRopeFreqBase = "rope.freq_base";
constexpr const char* kRmsEpsilon = "attention.layer_norm_rms_epsilon";
constexpr const char* kVocabSize = "vocab_size";

std::string key(const std::string& arch, const char* suffix) { return absl::StrCat(arch, ".", suffix); }

}  // namespace

absl::StatusOr<LlamaConfig> parse_llama_config(const GgufFile& f) {
  LlamaConfig p;
  auto arch = f.get_string("general.architecture");
  if (!arch.ok()) return required(arch.status());
  p.architecture = *arch;
  QUANTD_ASSIGN_OR_RETURN(const Architecture* architecture, find_architecture(p.architecture));
  const auto k = [&](const char* suffix) { return key(p.architecture, suffix); };
  QUANTD_ASSIGN_OR_RETURN(p.n_ctx_train, get_int(f, k(kContextLength), 1, kMaxCtx));
  QUANTD_ASSIGN_OR_RETURN(p.n_embd, get_int(f, k(kEmbeddingLength), 1, kMaxEmbd));
  QUANTD_ASSIGN_OR_RETURN(p.n_layer, get_int(f, k(kBlockCount), 1, kMaxLayers));
  QUANTD_ASSIGN_OR_RETURN(p.n_ff, get_int(f, k(kFeedForwardLength), 1, kMaxFf));
  QUANTD_ASSIGN_OR_RETURN(p.n_head, get_int(f, k(kHeadCount), 1, kMaxHeads));
  QUANTD_ASSIGN_OR_RETURN(p.n_head_kv, get_int_or(f, k(kHeadCountKv), 1, kMaxHeads, p.n_head));
  if (p.n_embd % p.n_head != 0) {
    return absl::InvalidArgumentError(absl::StrCat(k(kEmbeddingLength), " ", p.n_embd, " is not a multiple of ",
                                                   k(kHeadCount), " ", p.n_head));
  }
  if (p.n_head % p.n_head_kv != 0) {
    return absl::InvalidArgumentError(absl::StrCat(k(kHeadCount), " ", p.n_head, " is not a multiple of ",
                                                   k(kHeadCountKv), " ", p.n_head_kv));
  }
  QUANTD_ASSIGN_OR_RETURN(p.n_rot, get_int_or(f, k(kRopeDimensionCount), 2, p.head_dim(), p.head_dim()));
  if (p.n_rot % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("metadata key '", k(kRopeDimensionCount), "' = ", p.n_rot,
                                                   " is odd; RoPE rotates pairs"));
  }
  QUANTD_ASSIGN_OR_RETURN(p.rope_freq_base, get_positive_float(f, k(kRopeFreqBase), 1e12, 10000.0f));
  // llama.cpp requires this key for llama models; so do we.
  QUANTD_ASSIGN_OR_RETURN(p.rms_eps, get_positive_float(f, k(kRmsEpsilon), 1.0, std::nullopt));

  // Vocabulary size: the tokenizer's when present, else <arch>.vocab_size, else the embedding's.
  const std::string embd_name = architecture->find(TensorRole::kTokenEmbd)->pattern;
  const GgufTensor* embd = f.find_tensor(embd_name);
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
  } else if (f.metadata().count(k(kVocabSize))) {
    QUANTD_ASSIGN_OR_RETURN(p.n_vocab, get_int(f, k(kVocabSize), 1, kMaxVocab));
  } else if (embd != nullptr && embd->ne.size() == 2 && embd->ne[1] <= kMaxVocab) {
    p.n_vocab = embd->ne[1];
  } else {
    return absl::InvalidArgumentError(absl::StrCat("no vocabulary size: neither tokenizer.ggml.tokens, ",
                                                   k(kVocabSize), " nor a 2-D ", embd_name));
  }
  return p;
}

void append_llama_config(const LlamaConfig& c, bool with_rope_freq_base,
                         std::vector<std::pair<std::string, GgufValue>>* md) {
  const auto put = [&](const char* suffix, GgufValue v) { md->emplace_back(key(c.architecture, suffix), std::move(v)); };
  const auto u32 = [](int64_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
  put(kContextLength, u32(c.n_ctx_train));
  put(kEmbeddingLength, u32(c.n_embd));
  put(kFeedForwardLength, u32(c.n_ff));
  put(kHeadCount, u32(c.n_head));
  put(kHeadCountKv, u32(c.n_head_kv));
  put(kBlockCount, u32(c.n_layer));
  put(kRopeDimensionCount, u32(c.n_rot));
  if (with_rope_freq_base) put(kRopeFreqBase, GgufValue::f32(c.rope_freq_base));
  put(kRmsEpsilon, GgufValue::f32(c.rms_eps));
}

absl::Status check_llama_tensors(const Model& m) {
  const LlamaConfig& c = m.params();
  QUANTD_ASSIGN_OR_RETURN(const Architecture* arch, find_architecture(c.architecture));
  for (const TensorSlot& slot : tensor_slots(*arch, c)) {
    const ModelTensor* t = m.tensor(slot.name);
    if (t == nullptr) {
      if (slot.spec->tied_to) continue;
      return absl::InvalidArgumentError(absl::StrCat("tensor '", slot.name, "' is missing"));
    }
    if (t->ne != slot.ne) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", slot.name, "' has shape [",
                                                     absl::StrJoin(t->ne, ", "), "], expected [",
                                                     absl::StrJoin(slot.ne, ", "), "]"));
    }
    if (slot.ne.size() == 1 && t->format != kernels::Format::kF32) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", slot.name, "' has type ",
                                                     sv(ggml_type_name(static_cast<uint32_t>(t->format))),
                                                     ", expected f32 for a norm"));
    }
  }
  return absl::OkStatus();
}

}  // namespace quantd::model
