// quantctl's commands and their flags: what --help lists and what each command may read.
#include "client/quantctl/commands.h"

namespace quantd::client {

const std::vector<FlagSpec>& global_flags() {
  static const std::vector<FlagSpec> flags = {
      {"server", "host:port", "127.0.0.1:50051", "The quantd to call."},
      {"timeout", "seconds", "",
       "Deadline of each call (quantize and dequantize: 600 when not given; the others: none; health: 5)."},
  };
  return flags;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"health", "", "Check the server (grpc.health.v1); exit 0 when SERVING.",
       {{"service", "string", "", "The service to check; empty: the server as a whole."}},
       cmd_health},
      {"quantize", "IN [-o OUT.qt]",
       "Quantize a .npy (float32/float16) or raw file; print error statistics.",
       {{"o", "path", "", "Write the quantized tensor here (read by dequantize)."},
        {"scheme", "string", "", "Required: q4_0, q8_0, int8_sym, int4_asym, ... (a wrong one lists them all)."},
        {"granularity", "tensor|channel|group|block", "", "Default: per tensor for integer schemes, per block for block schemes."},
        {"axis", "int", "", "The channel axis, with --granularity=channel."},
        {"group-size", "int", "", "Values per scale, with --granularity=group."},
        {"range", "minmax|percentile|mse", "", "How the range is chosen (default: minmax)."},
        {"percentile", "number", "", "With --range=percentile, e.g. 99.9."},
        {"mse-grid", "int", "", "Candidate ranges tried, with --range=mse."},
        {"raw", "bool", "", "IN holds raw little-endian values: give --dtype and --shape."},
        {"dtype", "f32|f16|bf16", "f32", "With --raw: the values' type."},
        {"shape", "D0,D1,...", "", "With --raw: the tensor's shape."},
        {"fake-quant", "path", "", "Also write the quantize-dequantized tensor to this .npy."},
        {"no-stats", "bool", "", "Skip error statistics."},
        {"stream", "bool", "", "Upload and download in chunks (QuantizeStream; any size)."}},
       cmd_quantize},
      {"dequantize", "IN.qt -o OUT.npy", "Restore a tensor written by quantize -o.",
       {{"o", "path", "", "The .npy to write (required)."},
        {"dtype", "f32|f16", "f32", "The type written."}},
       cmd_dequantize},
      {"load-model", "NAME PATH", "Load a GGUF (PATH relative to the server's --model_dir).",
       {{"type", "string", "", "Re-quantize at load, e.g. q8_0."}},
       cmd_load_model},
      {"unload-model", "NAME", "Unload a model.", {}, cmd_unload_model},
      {"models", "", "List the loaded models.", {}, cmd_models},
      {"model-info", "NAME", "A model's hyper-parameters and tensors.", {}, cmd_model_info},
      {"quantize-model", "SOURCE NAME",
       "Re-quantize a loaded model into a new one; print a per-tensor error table.",
       {{"type", "string", "", "Target type, e.g. q4_0 (required)."},
        {"keep", "list", "", "Tensors left as they are, comma-separated globs, e.g. output.weight,*norm*."},
        {"fallback", "string", "", "Type for matrices whose rows are not a multiple of the target's block size (server default: f16)."},
        {"out", "path", "", "Also write the model to this new GGUF file (relative to the server's --model_dir)."}},
       cmd_quantize_model},
      {"generate", "MODEL PROMPT", "Stream generated text to the terminal.",
       {{"max-tokens", "int", "128", "Tokens to generate at most."},
        {"temperature", "number", "0", "0: greedy; above 0: sample from softmax(logits / T)."},
        {"top-k", "int", "0", "Sample among the K likeliest tokens; 0: off."},
        {"top-p", "number", "0", "Nucleus sampling in (0, 1]; 0: off."},
        {"min-p", "number", "0", "Drop tokens below P times the likeliest's probability; 0: off."},
        {"repeat-penalty", "number", "0", "Penalty on recent tokens; 0: off (same as 1)."},
        {"repeat-window", "int", "0", "Recent tokens the penalty looks at; 0: 64."},
        {"seed", "uint", "0", "Random seed: same seed, same request, same text."},
        {"stop", "repeated", "", "Stop before this text would be emitted; may be given several times."},
        {"no-bos", "bool", "", "Do not prepend the model's BOS token."}},
       cmd_generate},
      {"server-info", "", "Version, architecture, kernel ISA, threads, models.", {}, cmd_server_info},
  };
  return table;
}

}  // namespace quantd::client
