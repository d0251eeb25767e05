#include "server/llm/tokenizer.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/llm/bpe_tokenizer.h"
#include "server/llm/spm_tokenizer.h"
#include "server/common/status.h"

namespace quantd::llm {
namespace {

absl::Status check_id(const char* what, int32_t id, size_t n) {
  if (id < -1 || id >= static_cast<int64_t>(n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer ", what, " token id ", id, " is outside the vocabulary of ", n, " tokens"));
  }
  return absl::OkStatus();
}

absl::Status validate(const Vocabulary& v) {
  if (v.tokens.empty()) return absl::InvalidArgumentError("tokenizer vocabulary is empty");
  if (v.tokens.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer vocabulary too large: ", v.tokens.size()));
  }
  if (!v.scores.empty() && v.scores.size() != v.tokens.size()) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer has ", v.tokens.size(), " tokens but ",
                                                   v.scores.size(), " scores"));
  }
  if (!v.types.empty() && v.types.size() != v.tokens.size()) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer has ", v.tokens.size(), " tokens but ",
                                                   v.types.size(), " token types"));
  }
  for (size_t i = 0; i < v.scores.size(); ++i) {
    if (std::isnan(v.scores[i])) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer score of token ", i, " is NaN"));
    }
  }
  QUANTD_RETURN_IF_ERROR(check_id("bos", v.bos, v.tokens.size()));
  QUANTD_RETURN_IF_ERROR(check_id("eos", v.eos, v.tokens.size()));
  QUANTD_RETURN_IF_ERROR(check_id("eot", v.eot, v.tokens.size()));
  QUANTD_RETURN_IF_ERROR(check_id("unknown", v.unk, v.tokens.size()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<const Tokenizer>> Tokenizer::create(Vocabulary vocab) {
  QUANTD_RETURN_IF_ERROR(validate(vocab));
  if (vocab.model == "llama") return make_spm_tokenizer(std::move(vocab));
  if (vocab.model == "gpt2") return make_bpe_tokenizer(std::move(vocab));
  return absl::UnimplementedError(absl::StrCat("tokenizer.ggml.model \"", vocab.model,
                                               "\" is not supported (expected \"llama\" or \"gpt2\")"));
}

TokenType Tokenizer::type(int32_t token) const {
  if (token < 0 || token >= n_vocab()) return TokenType::kUndefined;
  return vocab_.types.empty() ? TokenType::kNormal : vocab_.types[token];
}

std::string Tokenizer::decode(std::span<const int32_t> tokens) const {
  std::string out;
  for (int32_t t : tokens) out += piece(t);
  if (adds_space_prefix() && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::string Detokenizer::push(int32_t token) {
  std::string p = tokenizer_.piece(token);
  if (strip_ && !started_ && !p.empty()) {
    started_ = true;
    if (p[0] == ' ') p.erase(0, 1);
  }
  return utf8_.push(p);
}

}  // namespace quantd::llm
