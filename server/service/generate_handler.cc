// Generate: a server-streaming call that decodes token by token on the model's kernels.
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/llm/generate.h"
#include "server/llm/session.h"
#include "server/service/quantd_service.h"
#include "server/service/status.h"

namespace quantd::service {
namespace {

// Zero means "off" on the wire; the sampler's neutral values are 1 for top_p and the penalty.
llm::SamplerConfig to_sampler(const v1::SamplingParams& s) {
  llm::SamplerConfig c;
  c.temperature = s.temperature();
  c.top_k = s.top_k();
  c.top_p = s.top_p() == 0.0f ? 1.0f : s.top_p();
  c.min_p = s.min_p();
  c.repetition_penalty = s.repetition_penalty() == 0.0f ? 1.0f : s.repetition_penalty();
  c.repetition_window = s.repetition_window() == 0 ? 64 : s.repetition_window();
  c.seed = s.seed();
  return c;
}

v1::FinishReason to_proto(llm::FinishReason r) {
  switch (r) {
    case llm::FinishReason::kLength: return v1::FINISH_REASON_LENGTH;
    case llm::FinishReason::kStop: return v1::FINISH_REASON_STOP;
    case llm::FinishReason::kEos: return v1::FINISH_REASON_EOS;
    case llm::FinishReason::kCancelled: return v1::FINISH_REASON_CANCELLED;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

bool expired(grpc::ServerContext* context) {
  return context->IsCancelled() || context->deadline() < std::chrono::system_clock::now();
}

}  // namespace

grpc::Status QuantdService::Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                                     grpc::ServerWriter<v1::GenerateResponse>* writer) {
  absl::StatusOr<std::shared_ptr<const Runner>> r = runner(request->model());
  if (!r.ok()) return to_grpc_status(r.status());
  const llm::Llama& llama = *(*r)->llama;
  const llm::Tokenizer& tokenizer = *(*r)->tokenizer;

  llm::GenerateParams params;
  params.prompt = request->prompt();
  params.sampling = to_sampler(request->sampling());
  params.max_tokens = request->max_tokens();
  params.stop.assign(request->stop().begin(), request->stop().end());
  params.add_bos = request->has_add_bos() ? request->add_bos() : tokenizer.add_bos_by_default();
  // Reject bad requests before they queue.
  std::vector<int32_t> prompt_tokens;
  if (absl::Status s = llm::validate(params, llama, tokenizer, &prompt_tokens); !s.ok()) return to_grpc_status(s);

  if (absl::Status s = generations_.acquire(context); !s.ok()) return to_grpc_status(s);
  struct Release {
    GenerationSlots& slots;
    ~Release() { slots.release(); }
  } release{generations_};

  metrics::Metrics* m = options_.metrics;
  const int64_t kv_bytes = llm::Session::kv_cache_bytes_for(
      llama.config(), static_cast<int64_t>(prompt_tokens.size()) + params.max_tokens);
  if (m != nullptr) m->kv_cache_bytes.Increment(static_cast<double>(kv_bytes));

  llm::GenerateHooks hooks;
  hooks.emit = [&](const llm::GenerateChunk& chunk) {
    v1::GenerateResponse out;
    out.set_text(chunk.text);
    out.mutable_token_ids()->Assign(chunk.token_ids.begin(), chunk.token_ids.end());
    return writer->Write(out);
  };
  hooks.cancelled = [&] { return expired(context); };
  // Streams share the cores: each forward pass gets an equal share of the threads.
  hooks.threads = [&] { return std::max(1, options_.threads / std::max(1, generations_.active())); };
  hooks.on_token = [&](double seconds) {
    if (m != nullptr) m->inter_token.Observe(seconds);
  };
  absl::StatusOr<llm::GenerateResult> result = llm::generate(llama, tokenizer, params, hooks);
  if (m != nullptr) m->kv_cache_bytes.Decrement(static_cast<double>(kv_bytes));
  if (!result.ok()) return to_grpc_status(result.status());

  if (m != nullptr) {
    m->prompt_tokens.Increment(result->usage.prompt_tokens);
    m->generated_tokens.Increment(result->usage.generated_tokens);
    if (result->usage.generated_tokens > 0) m->time_to_first_token.Observe(result->usage.time_to_first_token_seconds);
  }
  if (result->finish == llm::FinishReason::kCancelled) {
    if (context->deadline() < std::chrono::system_clock::now()) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed during generation");
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "generation cancelled by the client");
  }
  v1::GenerateResponse last;
  last.set_finish_reason(to_proto(result->finish));
  v1::Usage* u = last.mutable_usage();
  u->set_prompt_tokens(result->usage.prompt_tokens);
  u->set_generated_tokens(result->usage.generated_tokens);
  u->set_time_to_first_token_seconds(result->usage.time_to_first_token_seconds);
  u->set_prefill_tokens_per_second(result->usage.prefill_tokens_per_second);
  u->set_decode_tokens_per_second(result->usage.decode_tokens_per_second);
  writer->Write(last);
  return grpc::Status::OK;
}

}  // namespace quantd::service
