// quantd-make-synthetic --dim 2048 --layers 8 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000
//   --ctx 2048 --type q8_0 --seed 1 --out x.gguf
// Writes a Llama GGUF with random weights (see server/model/synthetic.h).
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/tools/dashed_flags.h"
#include "quantd/kernels/formats.h"
#include "server/model/synthetic.h"

ABSL_FLAG(int64_t, dim, 2048, "embedding length");
ABSL_FLAG(int64_t, layers, 8, "transformer blocks");
ABSL_FLAG(int64_t, heads, 32, "attention heads");
ABSL_FLAG(int64_t, kv_heads, 4, "key/value heads (grouped-query attention)");
ABSL_FLAG(int64_t, ffn, 5632, "feed-forward length");
ABSL_FLAG(int64_t, vocab, 32000, "vocabulary size (>= 259)");
ABSL_FLAG(int64_t, ctx, 2048, "context length");
ABSL_FLAG(std::string, type, "f32", "matrix type: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0");
ABSL_FLAG(uint64_t, seed, 1, "random seed (same seed, same file)");
ABSL_FLAG(int, threads, 0, "generation threads (0: all)");
ABSL_FLAG(std::string, out, "", "GGUF file to write");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes a synthetic Llama GGUF with random weights.\n"
      "  quantd-make-synthetic --dim 2048 --layers 8 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000 "
      "--ctx 2048 --type q8_0 --seed 1 --out x.gguf");
  quantd::tools::DashedFlags flags(argc, argv);
  absl::ParseCommandLine(flags.argc(), flags.argv());
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cerr << "--out is required (see --help)\n";
    return 2;
  }
  const std::string type = absl::GetFlag(FLAGS_type);
  const quantd::kernels::FormatInfo* info = quantd::kernels::find_format(std::string_view(type));
  if (info == nullptr) {
    std::cerr << "--type " << type << ": unknown (f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0)\n";
    return 2;
  }
  quantd::model::SyntheticConfig c;
  c.dim = absl::GetFlag(FLAGS_dim);
  c.layers = absl::GetFlag(FLAGS_layers);
  c.heads = absl::GetFlag(FLAGS_heads);
  c.kv_heads = absl::GetFlag(FLAGS_kv_heads);
  c.ffn = absl::GetFlag(FLAGS_ffn);
  c.vocab = absl::GetFlag(FLAGS_vocab);
  c.context = absl::GetFlag(FLAGS_ctx);
  c.type = info->format;
  c.seed = absl::GetFlag(FLAGS_seed);
  c.threads = absl::GetFlag(FLAGS_threads);
  const absl::Status s = quantd::model::write_synthetic_gguf(c, out);
  if (!s.ok()) {
    std::cerr << "quantd-make-synthetic: " << s << "\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}
