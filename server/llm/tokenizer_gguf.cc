// Reading the tokenizer.ggml.* keys of a GGUF file into a Vocabulary.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/llm/tokenizer.h"
#include "server/model/gguf.h"

namespace quantd::llm {
namespace {

absl::StatusOr<const model::GgufArray*> array_of(const model::GgufFile& gguf, const std::string& key,
                                                 model::GgufType element) {
  absl::StatusOr<const model::GgufArray*> a = gguf.get_array(key);
  if (!a.ok()) return absl::InvalidArgumentError(absl::StrCat("tokenizer: ", a.status().message()));
  if ((*a)->element_type != element) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer: ", key, " has element type ",
                                                   static_cast<uint32_t>((*a)->element_type), ", expected ",
                                                   static_cast<uint32_t>(element)));
  }
  return *a;
}

// Optional token id: -1 when absent, or when the file stores the "none" value 0xFFFFFFFF.
absl::StatusOr<int32_t> optional_id(const model::GgufFile& gguf, const std::string& key) {
  if (gguf.metadata().count(key) == 0) return -1;
  absl::StatusOr<uint64_t> v = gguf.get_uint(key);
  if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat("tokenizer: ", v.status().message()));
  if (*v >= 0x7fffffffu) return -1;
  return static_cast<int32_t>(*v);
}

bool optional_bool(const model::GgufFile& gguf, const std::string& key, bool fallback) {
  const auto it = gguf.metadata().find(key);
  if (it == gguf.metadata().end()) return fallback;
  if (const bool* b = std::get_if<bool>(&it->second.value)) return *b;
  return fallback;
}

}  // namespace

absl::StatusOr<Vocabulary> vocabulary_from_gguf(const model::GgufFile& gguf) {
  Vocabulary v;
  absl::StatusOr<std::string> kind = gguf.get_string("tokenizer.ggml.model");
  if (!kind.ok()) return absl::InvalidArgumentError(absl::StrCat("tokenizer: ", kind.status().message()));
  v.model = *kind;
  if (absl::StatusOr<std::string> pre = gguf.get_string("tokenizer.ggml.pre"); pre.ok()) v.pre = *pre;

  QUANTD_ASSIGN_OR_RETURN(const model::GgufArray* tokens,
                          array_of(gguf, "tokenizer.ggml.tokens", model::GgufType::kString));
  v.tokens.reserve(tokens->values.size());
  for (const model::GgufValue& t : tokens->values) v.tokens.push_back(std::get<std::string>(t.value));

  if (gguf.metadata().count("tokenizer.ggml.scores") != 0) {
    QUANTD_ASSIGN_OR_RETURN(const model::GgufArray* scores,
                            array_of(gguf, "tokenizer.ggml.scores", model::GgufType::kF32));
    for (const model::GgufValue& s : scores->values) v.scores.push_back(static_cast<float>(std::get<double>(s.value)));
  }
  if (gguf.metadata().count("tokenizer.ggml.token_type") != 0) {
    QUANTD_ASSIGN_OR_RETURN(const model::GgufArray* types,
                            array_of(gguf, "tokenizer.ggml.token_type", model::GgufType::kI32));
    for (const model::GgufValue& t : types->values) {
      const int64_t type = std::get<int64_t>(t.value);
      if (type < 0 || type > static_cast<int64_t>(TokenType::kByte)) {
        return absl::InvalidArgumentError(
            absl::StrCat("tokenizer: token type ", type, " of token ", v.types.size(), " is not 0..6"));
      }
      v.types.push_back(static_cast<TokenType>(type));
    }
  }
  if (gguf.metadata().count("tokenizer.ggml.merges") != 0) {
    QUANTD_ASSIGN_OR_RETURN(const model::GgufArray* merges,
                            array_of(gguf, "tokenizer.ggml.merges", model::GgufType::kString));
    for (const model::GgufValue& m : merges->values) v.merges.push_back(std::get<std::string>(m.value));
  }
  if (v.model == "gpt2" && v.merges.empty()) {
    return absl::InvalidArgumentError("tokenizer: tokenizer.ggml.model is gpt2 but tokenizer.ggml.merges is missing");
  }

  for (auto [key, field] :
       {std::pair{"tokenizer.ggml.bos_token_id", &v.bos}, std::pair{"tokenizer.ggml.eos_token_id", &v.eos},
        std::pair{"tokenizer.ggml.eot_token_id", &v.eot}, std::pair{"tokenizer.ggml.unknown_token_id", &v.unk}}) {
    QUANTD_ASSIGN_OR_RETURN(int32_t id, optional_id(gguf, key));
    *field = id;
  }
  // llama.cpp's defaults: SentencePiece adds BOS and the space prefix, byte-level BPE neither.
  const bool spm = v.model == "llama";
  v.add_bos = optional_bool(gguf, "tokenizer.ggml.add_bos_token", spm);
  v.add_space_prefix = optional_bool(gguf, "tokenizer.ggml.add_space_prefix", spm);
  return v;
}

absl::StatusOr<std::unique_ptr<const Tokenizer>> Tokenizer::from_gguf(const model::GgufFile& gguf) {
  QUANTD_ASSIGN_OR_RETURN(Vocabulary v, vocabulary_from_gguf(gguf));
  return create(std::move(v));
}

}  // namespace quantd::llm
