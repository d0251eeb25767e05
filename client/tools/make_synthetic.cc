// quantd-make-synthetic --dim 2048 --layers 8 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000
//   --ctx 2048 --type q8_0 --seed 1 --out x.gguf
// Writes a Llama GGUF with random weights (see server/model/synthetic.h).
#include <iostream>

#include "quantd/kernels/formats.h"
#include "server/common/flags.h"
#include "server/model/synthetic.h"

int main(int argc, char** argv) {
  quantd::model::SyntheticConfig c;
  std::string type = "f32", out;
  quantd::flags::FlagSet flags(
      "quantd-make-synthetic",
      "usage: quantd-make-synthetic [flags] --out x.gguf\n\n"
      "Writes a synthetic Llama GGUF with random weights, e.g. TinyLlama's width with 8 layers:\n"
      "  quantd-make-synthetic --dim 2048 --layers 8 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000 "
      "--ctx 2048 --type q8_0 --seed 1 --out x.gguf");
  flags.add("dim", &c.dim, "Embedding length.");
  flags.add("layers", &c.layers, "Transformer blocks.");
  flags.add("heads", &c.heads, "Attention heads.");
  flags.add("kv-heads", &c.kv_heads, "Key/value heads (grouped-query attention).");
  flags.add("ffn", &c.ffn, "Feed-forward length.");
  flags.add("vocab", &c.vocab, "Vocabulary size (>= 259).");
  flags.add("ctx", &c.context, "Context length.");
  flags.add("type", &type, "Matrix type: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0.");
  flags.add("seed", &c.seed, "Random seed (same seed, same file).");
  flags.add("threads", &c.threads, "Generation threads (0: all).");
  flags.add("out", &out, "GGUF file to write; required.", "path");
  if (!flags.parse_or_exit(argc, argv).empty()) {
    std::cerr << "quantd-make-synthetic: takes no positional arguments (see --help)\n";
    return 2;
  }
  if (out.empty()) {
    std::cerr << "quantd-make-synthetic: --out is required (see --help)\n";
    return 2;
  }
  const quantd::kernels::FormatInfo* info = quantd::kernels::find_format(std::string_view(type));
  if (info == nullptr) {
    std::cerr << "--type " << type << ": unknown (f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0)\n";
    return 2;
  }
  c.type = info->format;
  const absl::Status s = quantd::model::write_synthetic_gguf(c, out);
  if (!s.ok()) {
    std::cerr << "quantd-make-synthetic: " << s << "\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}
