#include "server/llm/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/llm/session.h"
#include "server/common/status.h"

namespace quantd::llm {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Holds back text that could still become a stop string, so a stop string is never streamed.
class StopMatcher {
 public:
  explicit StopMatcher(const std::vector<std::string>& stops) : stops_(stops) {}

  // Adds text; returns what can be emitted now. *stopped when a stop string completed (the
  // returned text is everything before it).
  std::string push(const std::string& text, bool* stopped) {
    pending_ += text;
    size_t first = std::string::npos;
    for (const std::string& s : stops_) first = std::min(first, pending_.find(s));
    if (first != std::string::npos) {
      *stopped = true;
      std::string out = pending_.substr(0, first);
      pending_.clear();
      return out;
    }
    // Keep the longest tail of pending_ that is a prefix of some stop string.
    size_t keep = 0;
    for (const std::string& s : stops_) {
      for (size_t n = std::min(s.size() - 1, pending_.size()); n > keep; --n) {
        if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
          keep = n;
          break;
        }
      }
    }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }
  // End of generation without a stop: whatever was held back is text after all.
  std::string flush() { return std::exchange(pending_, ""); }

 private:
  const std::vector<std::string>& stops_;
  std::string pending_;
};

}  // namespace

absl::Status validate(const GenerateParams& p, const Llama& llama, const Tokenizer& tokenizer,
                      std::vector<int32_t>* prompt_tokens) {
  QUANTD_RETURN_IF_ERROR(validate(p.sampling));
  if (p.max_tokens <= 0) return absl::InvalidArgumentError(absl::StrCat("max_tokens is ", p.max_tokens, "; must be >= 1"));
  if (static_cast<int>(p.stop.size()) > kMaxStopStrings) {
    return absl::InvalidArgumentError(absl::StrCat(p.stop.size(), " stop strings; at most ", kMaxStopStrings));
  }
  for (size_t i = 0; i < p.stop.size(); ++i) {
    if (p.stop[i].empty() || p.stop[i].size() > kMaxStopStringBytes) {
      return absl::InvalidArgumentError(absl::StrCat("stop[", i, "] has ", p.stop[i].size(), " bytes; expected 1 to ",
                                                     kMaxStopStringBytes));
    }
  }
  *prompt_tokens = tokenizer.encode(p.prompt, p.add_bos);
  if (prompt_tokens->empty()) {
    return absl::InvalidArgumentError("the prompt is empty and add_bos is off: there is nothing to start from");
  }
  const int64_t ctx = llama.config().n_ctx_train;
  if (static_cast<int64_t>(prompt_tokens->size()) >= ctx) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt has ", prompt_tokens->size(),
                                                   " tokens; the model's context holds ", ctx));
  }
  if (static_cast<int64_t>(prompt_tokens->size()) + p.max_tokens > ctx) {
    return absl::OutOfRangeError(absl::StrCat("prompt (", prompt_tokens->size(), " tokens) + max_tokens (", p.max_tokens,
                                              ") exceeds the model's context of ", ctx, " tokens"));
  }
  return absl::OkStatus();
}

absl::StatusOr<GenerateResult> generate(const Llama& llama, const Tokenizer& tokenizer, const GenerateParams& params,
                                        const GenerateHooks& hooks) {
  const auto start = Clock::now();
  std::vector<int32_t> prompt;
  QUANTD_RETURN_IF_ERROR(validate(params, llama, tokenizer, &prompt));
  QUANTD_ASSIGN_OR_RETURN(Sampler sampler, Sampler::create(params.sampling, tokenizer.n_vocab()));
  // The KV cache covers exactly this request: prompt plus the tokens it may generate.
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                          llama.new_session(static_cast<int64_t>(prompt.size()) + params.max_tokens));

  GenerateResult result;
  result.kv_cache_bytes = session->kv_cache_bytes();
  result.usage.prompt_tokens = static_cast<int32_t>(prompt.size());
  if (hooks.cancelled()) {
    result.finish = FinishReason::kCancelled;
    return result;
  }
  QUANTD_RETURN_IF_ERROR(session->prefill(prompt, hooks.threads()));
  const double prefill_s = seconds_since(start);
  result.usage.prefill_tokens_per_second = prompt.size() / std::max(prefill_s, 1e-9);
  for (int32_t t : prompt) sampler.accept(t);

  Detokenizer detok(tokenizer, /*strip_leading_space=*/true);
  StopMatcher stops(params.stop);
  GenerateChunk chunk;
  const auto decode_start = Clock::now();
  auto last = Clock::now();
  result.finish = FinishReason::kLength;
  for (int32_t i = 0; i < params.max_tokens; ++i) {
    if (hooks.cancelled()) {
      result.finish = FinishReason::kCancelled;
      break;
    }
    const int32_t token = sampler.sample(session->logits());
    sampler.accept(token);
    ++result.usage.generated_tokens;
    if (i == 0) result.usage.time_to_first_token_seconds = seconds_since(start);
    if (hooks.on_token && i > 0) hooks.on_token(seconds_since(last));
    last = Clock::now();
    if (tokenizer.is_end_of_generation(token)) {
      result.finish = FinishReason::kEos;
      break;
    }
    chunk.token_ids.push_back(token);
    bool stopped = false;
    chunk.text += stops.push(detok.push(token), &stopped);
    if (stopped) {
      result.finish = FinishReason::kStop;
      break;
    }
    if (!chunk.text.empty()) {
      if (!hooks.emit(chunk)) {
        result.finish = FinishReason::kCancelled;
        break;
      }
      chunk = GenerateChunk();
    }
    if (i + 1 < params.max_tokens) {
      QUANTD_RETURN_IF_ERROR(session->decode(token, hooks.threads()));
    }
  }
  if (result.finish != FinishReason::kStop && result.finish != FinishReason::kCancelled) {
    bool stopped = false;
    chunk.text += stops.push(detok.finish(), &stopped);
    if (!stopped) chunk.text += stops.flush();
  }
  if ((!chunk.text.empty() || !chunk.token_ids.empty()) && result.finish != FinishReason::kCancelled) {
    if (!hooks.emit(chunk)) result.finish = FinishReason::kCancelled;
  }
  const double decode_s = seconds_since(decode_start);
  if (result.usage.generated_tokens > 1) {
    result.usage.decode_tokens_per_second = (result.usage.generated_tokens - 1) / std::max(decode_s, 1e-9);
  }
  return result;
}

}  // namespace quantd::llm
