// quantctl: the command-line client of quantd.
#include <cstdio>
#include <string>

#include "client/quantctl/commands.h"

namespace {

constexpr char kUsage[] = R"(usage: quantctl <command> [options] [--server=HOST:PORT]

commands:
  health                         check the server (grpc.health.v1); exit 0 when SERVING
  quantize IN [-o OUT.qt]        quantize a .npy (float32/float16) or raw file; print error statistics
      --scheme=q4_0|q4_1|q5_0|q5_1|q8_0|int8_sym|int8_asym|int4_sym|int4_asym   (required)
      --granularity=tensor|channel|group|block   --axis=N   --group-size=N
      --range=minmax|percentile|mse   --percentile=P   --mse-grid=N
      --raw --dtype=f32|f16|bf16 --shape=D0,D1,...   (IN holds raw little-endian values)
      --fake-quant=OUT.npy   also write the quantize-dequantized tensor
      --no-stats   skip error statistics     --stream   upload in chunks (any size)
  dequantize IN.qt -o OUT.npy [--dtype=f32|f16]   restore a tensor written by quantize
  load-model NAME PATH [--type=q8_0]   load a GGUF (PATH relative to the server's --model_dir)
  unload-model NAME                    models                  model-info NAME
  quantize-model SOURCE NAME --type=q4_0 [--keep=output.weight,*norm*] [--fallback=f16] [--out=F.gguf]
                                 re-quantize a loaded model; prints a per-tensor error table
  generate MODEL PROMPT [--max-tokens=N] [--temperature=T] [--top-k=K] [--top-p=P] [--min-p=P]
      [--repeat-penalty=R] [--repeat-window=N] [--seed=S] [--stop=STR]... [--no-bos]
                                 stream generated text to the terminal
  server-info                    version, architecture, kernel ISA, threads, models

--server defaults to 127.0.0.1:50051; --timeout=SECONDS (default 600) bounds each call.
)";

}  // namespace

int main(int argc, char** argv) {
  const quantd::client::Args args(argc, argv, 1);
  if (args.has("help") || args.positional().empty()) {
    std::fputs(kUsage, args.positional().empty() && !args.has("help") ? stderr : stdout);
    return args.has("help") ? 0 : 2;
  }
  const std::string& command = args.positional()[0];
  int rc;
  if (command == "health") {
    rc = quantd::client::cmd_health(args);
  } else if (command == "quantize") {
    rc = quantd::client::cmd_quantize(args);
  } else if (command == "dequantize") {
    rc = quantd::client::cmd_dequantize(args);
  } else if (command == "load-model") {
    rc = quantd::client::cmd_load_model(args);
  } else if (command == "unload-model") {
    rc = quantd::client::cmd_unload_model(args);
  } else if (command == "models") {
    rc = quantd::client::cmd_models(args);
  } else if (command == "model-info") {
    rc = quantd::client::cmd_model_info(args);
  } else if (command == "quantize-model") {
    rc = quantd::client::cmd_quantize_model(args);
  } else if (command == "server-info") {
    rc = quantd::client::cmd_server_info(args);
  } else if (command == "generate") {
    rc = quantd::client::cmd_generate(args);
  } else {
    std::fprintf(stderr, "quantctl: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  }
  for (const std::string& opt : rc == 0 ? args.unused() : std::vector<std::string>{}) {
    std::fprintf(stderr, "quantctl: warning: option %s is not used by '%s'\n", opt.c_str(), command.c_str());
  }
  return rc;
}
