// One generation: tokenize, prefill, then sample and decode token by token, streaming text
// that never splits a UTF-8 character and never runs past a stop string.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/llm/llama.h"
#include "server/llm/sampler.h"
#include "server/llm/tokenizer.h"

namespace quantd::llm {

inline constexpr int kMaxStopStrings = 16;
inline constexpr size_t kMaxStopStringBytes = 256;

struct GenerateParams {
  std::string prompt;
  SamplerConfig sampling;
  int32_t max_tokens = 0;          // >= 1
  std::vector<std::string> stop;   // at most kMaxStopStrings, each 1..kMaxStopStringBytes bytes
  bool add_bos = true;
};

enum class FinishReason { kLength, kStop, kEos, kCancelled };

struct GenerateUsage {
  int32_t prompt_tokens = 0;
  int32_t generated_tokens = 0;
  double time_to_first_token_seconds = 0;
  double prefill_tokens_per_second = 0;
  double decode_tokens_per_second = 0;
};

struct GenerateChunk {
  std::string text;
  std::vector<int32_t> token_ids;  // the tokens consumed since the previous chunk
};

struct GenerateResult {
  FinishReason finish = FinishReason::kLength;
  GenerateUsage usage;
  int64_t kv_cache_bytes = 0;
};

struct GenerateHooks {
  // Receives each chunk; returns false when the consumer is gone (ends with kCancelled).
  std::function<bool(const GenerateChunk&)> emit;
  // Checked before every token; true ends with kCancelled.
  std::function<bool()> cancelled;
  // Threads for the next forward pass (may change between tokens).
  std::function<int()> threads;
  // Called with the time since the previous token (for inter-token metrics), optional.
  std::function<void(double seconds)> on_token;
};

// INVALID_ARGUMENT for bad parameters (naming the field); OUT_OF_RANGE when the prompt plus
// max_tokens do not fit the model's context.
absl::Status validate(const GenerateParams& p, const Llama& llama, const Tokenizer& tokenizer,
                      std::vector<int32_t>* prompt_tokens);

absl::StatusOr<GenerateResult> generate(const Llama& llama, const Tokenizer& tokenizer, const GenerateParams& params,
                                        const GenerateHooks& hooks);

}  // namespace quantd::llm
