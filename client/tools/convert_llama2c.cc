// quantd-convert-llama2c --checkpoint stories260K.bin --tokenizer tok512.bin --out x.gguf
// Converts a llama2.c legacy checkpoint and its tokenizer to a Llama GGUF (F32).
#include <iostream>

#include "server/common/flags.h"
#include "server/model/llama2c.h"

int main(int argc, char** argv) {
  std::string checkpoint, tokenizer, out;
  quantd::model::Llama2cOptions options;
  quantd::flags::FlagSet flags(
      "quantd-convert-llama2c",
      "usage: quantd-convert-llama2c --checkpoint stories260K.bin --tokenizer tok512.bin --out x.gguf\n\n"
      "Converts a llama2.c checkpoint and its tokenizer to a Llama GGUF (F32).");
  flags.add("checkpoint", &checkpoint, "llama2.c checkpoint (legacy version 0, e.g. stories260K.bin); required.",
            "path");
  flags.add("tokenizer", &tokenizer, "llama2.c tokenizer (e.g. tok512.bin); required.", "path");
  flags.add("out", &out, "GGUF file to write; required.", "path");
  flags.add("context-length", &options.context_length, "llama.context_length to record (0: the checkpoint's seq_len).");
  flags.add("name", &options.name, "general.name to record.");
  if (!flags.parse_or_exit(argc, argv).empty()) {
    std::cerr << "quantd-convert-llama2c: takes no positional arguments (see --help)\n";
    return 2;
  }
  if (checkpoint.empty() || tokenizer.empty() || out.empty()) {
    std::cerr << "quantd-convert-llama2c: --checkpoint, --tokenizer and --out are required (see --help)\n";
    return 2;
  }
  const absl::Status s = quantd::model::convert_llama2c_file(checkpoint, tokenizer, out, options);
  if (!s.ok()) {
    std::cerr << "quantd-convert-llama2c: " << s << "\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}
