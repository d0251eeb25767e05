// quantctl generate: stream a Generate call to the terminal.
#include <chrono>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "client/quantctl/commands.h"
#include "quantd/v1/quantd.grpc.pb.h"

namespace quantd::client {

int cmd_generate(const Args& args) {
  if (args.positional().size() != 3) {
    std::fprintf(stderr, "quantctl: usage: quantctl generate MODEL PROMPT [options] (see quantctl --help)\n");
    return 2;
  }
  v1::GenerateRequest r;
  r.set_model(args.positional()[1]);
  r.set_prompt(args.positional()[2]);
  int64_t i = 0;
  double d = 0;
  r.set_max_tokens(absl::SimpleAtoi(args.get("max-tokens"), &i) ? static_cast<int32_t>(i) : -1);
  v1::SamplingParams* s = r.mutable_sampling();
  auto number = [&](const char* key, double fallback) {
    return absl::SimpleAtod(args.get(key), &d) ? d : fallback;
  };
  s->set_temperature(static_cast<float>(number("temperature", 0)));
  s->set_top_k(static_cast<int32_t>(number("top-k", 0)));
  s->set_top_p(static_cast<float>(number("top-p", 0)));
  s->set_min_p(static_cast<float>(number("min-p", 0)));
  s->set_repetition_penalty(static_cast<float>(number("repeat-penalty", 0)));
  s->set_repetition_window(static_cast<int32_t>(number("repeat-window", 0)));
  s->set_seed(static_cast<uint64_t>(number("seed", 0)));
  for (const std::string& stop : args.get_all("stop")) r.add_stop(stop);
  if (args.has("no-bos")) r.set_add_bos(false);

  grpc::ClientContext ctx;
  if (args.has("timeout") && absl::SimpleAtod(args.get("timeout"), &d)) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(d * 1000)));
  }
  auto stream = v1::Quantd::NewStub(connect(args))->Generate(&ctx, r);
  v1::GenerateResponse reply;
  v1::GenerateResponse last;
  while (stream->Read(&reply)) {
    std::fwrite(reply.text().data(), 1, reply.text().size(), stdout);
    std::fflush(stdout);
    if (reply.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) last = reply;
  }
  grpc::Status status = stream->Finish();
  std::printf("\n");
  if (!status.ok()) return report("generate", status);
  const v1::Usage& u = last.usage();
  std::fprintf(stderr, "[%s] prompt %d tokens, generated %d; first token %.1f ms; prefill %.1f tok/s, decode %.1f tok/s\n",
               v1::FinishReason_Name(last.finish_reason()).c_str(), u.prompt_tokens(), u.generated_tokens(),
               u.time_to_first_token_seconds() * 1000, u.prefill_tokens_per_second(), u.decode_tokens_per_second());
  return 0;
}

}  // namespace quantd::client
