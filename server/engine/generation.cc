// Generate: validation before queueing, the stream slots, the share of threads each stream's
// forward pass gets, and the generation metrics.
#include <algorithm>

#include "server/common/status.h"
#include "server/engine/engine.h"
#include "server/llm/session.h"

namespace quantd::engine {

absl::StatusOr<llm::GenerateResult> Engine::generate(const GenerateRequest& request, const CancelToken& cancel,
                                                     const std::function<bool(const llm::GenerateChunk&)>& emit) {
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> loaded, models_.get(request.model));
  const llm::Llama& llama = *loaded->llama;
  const llm::Tokenizer& tokenizer = *loaded->tokenizer;
  llm::GenerateParams params = request.params;
  params.add_bos = request.add_bos.value_or(tokenizer.add_bos_by_default());
  // Bad requests fail before they queue.
  std::vector<int32_t> prompt_tokens;
  QUANTD_RETURN_IF_ERROR(llm::validate(params, llama, tokenizer, &prompt_tokens));

  QUANTD_ASSIGN_OR_RETURN(Admission::Ticket slot, generations_.acquire(cancel));
  metrics::Metrics* m = options_.metrics;
  const int64_t kv_bytes =
      llm::Session::kv_cache_bytes_for(llama.config(), static_cast<int64_t>(prompt_tokens.size()) + params.max_tokens);
  if (m != nullptr) m->kv_cache_bytes.Increment(static_cast<double>(kv_bytes));

  llm::GenerateHooks hooks;
  hooks.emit = emit;
  hooks.cancelled = [&] { return cancel.cancelled(); };
  // Streams share the cores: each forward pass gets an equal share of the threads.
  hooks.threads = [&] { return std::max(1, options_.threads / std::max(1, generations_.active())); };
  hooks.on_token = [&](double seconds) {
    if (m != nullptr) m->inter_token.Observe(seconds);
  };
  absl::StatusOr<llm::GenerateResult> result = llm::generate(llama, tokenizer, params, hooks);
  if (m != nullptr) m->kv_cache_bytes.Decrement(static_cast<double>(kv_bytes));
  if (!result.ok()) return result.status();

  if (m != nullptr) {
    m->prompt_tokens.Increment(result->usage.prompt_tokens);
    m->generated_tokens.Increment(result->usage.generated_tokens);
    if (result->usage.generated_tokens > 0) m->time_to_first_token.Observe(result->usage.time_to_first_token_seconds);
  }
  if (result->finish == llm::FinishReason::kCancelled) {
    if (cancel.deadline_passed()) return absl::DeadlineExceededError("deadline passed during generation");
    return absl::CancelledError("generation cancelled by the client");
  }
  return result;
}

}  // namespace quantd::engine
