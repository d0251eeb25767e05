// Generate: a server stream fed by the engine's decode loop, which runs on a worker thread.
#include <algorithm>

#include "server/engine/engine.h"
#include "server/service/quantd_service.h"
#include "server/service/reactors.h"

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
    case llm::FinishReason::kLength:
      return v1::FINISH_REASON_LENGTH;
    case llm::FinishReason::kStop:
      return v1::FINISH_REASON_STOP;
    case llm::FinishReason::kEos:
      return v1::FINISH_REASON_EOS;
    case llm::FinishReason::kCancelled:
      return v1::FINISH_REASON_CANCELLED;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

engine::GenerateRequest to_engine(const v1::GenerateRequest& r) {
  engine::GenerateRequest out;
  out.model = r.model();
  out.params.prompt = r.prompt();
  out.params.sampling = to_sampler(r.sampling());
  out.params.max_tokens = r.max_tokens();
  out.params.stop.assign(r.stop().begin(), r.stop().end());
  if (r.has_add_bos()) out.add_bos = r.add_bos();
  return out;
}

v1::GenerateResponse to_proto(const llm::GenerateResult& result) {
  v1::GenerateResponse last;
  last.set_finish_reason(to_proto(result.finish));
  v1::Usage* u = last.mutable_usage();
  u->set_prompt_tokens(result.usage.prompt_tokens);
  u->set_generated_tokens(result.usage.generated_tokens);
  u->set_time_to_first_token_seconds(result.usage.time_to_first_token_seconds);
  u->set_prefill_tokens_per_second(result.usage.prefill_tokens_per_second);
  u->set_decode_tokens_per_second(result.usage.decode_tokens_per_second);
  return last;
}

using GenerateCall = StreamCall<grpc::ServerWriteReactor<v1::GenerateResponse>, v1::GenerateResponse>;

}  // namespace

grpc::ServerWriteReactor<v1::GenerateResponse>* QuantdService::Generate(grpc::CallbackServerContext* context,
                                                                        const v1::GenerateRequest* request) {
  auto* call = new GenerateCall(context);
  workers_.run([this, call, request = to_engine(*request)] {
    absl::StatusOr<llm::GenerateResult> result =
        engine_.generate(request, call->token(), [call](const llm::GenerateChunk& chunk) {
          v1::GenerateResponse out;
          out.set_text(chunk.text);
          out.mutable_token_ids()->Assign(chunk.token_ids.begin(), chunk.token_ids.end());
          return call->outbox().push(std::move(out));
        });
    if (result.ok()) call->outbox().push(to_proto(*result));
    call->outbox().close(to_grpc_status(result.status()));
  });
  return call;
}

}  // namespace quantd::service
