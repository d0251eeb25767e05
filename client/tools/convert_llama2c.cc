// quantd-convert-llama2c --checkpoint stories260K.bin --tokenizer tok512.bin --out x.gguf
// Converts a llama2.c legacy checkpoint and its tokenizer to a Llama GGUF (F32).
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/tools/dashed_flags.h"
#include "server/model/llama2c.h"

ABSL_FLAG(std::string, checkpoint, "", "llama2.c checkpoint (legacy version 0, e.g. stories260K.bin)");
ABSL_FLAG(std::string, tokenizer, "", "llama2.c tokenizer (e.g. tok512.bin)");
ABSL_FLAG(std::string, out, "", "GGUF file to write");
ABSL_FLAG(int64_t, context_length, 0, "llama.context_length to record (0: the checkpoint's seq_len)");
ABSL_FLAG(std::string, name, "llama", "general.name to record");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Converts a llama2.c checkpoint + tokenizer to GGUF.\n"
      "  quantd-convert-llama2c --checkpoint stories260K.bin --tokenizer tok512.bin --out x.gguf");
  quantd::tools::DashedFlags flags(argc, argv);
  absl::ParseCommandLine(flags.argc(), flags.argv());
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint), tokenizer = absl::GetFlag(FLAGS_tokenizer),
                    out = absl::GetFlag(FLAGS_out);
  if (checkpoint.empty() || tokenizer.empty() || out.empty()) {
    std::cerr << "--checkpoint, --tokenizer and --out are required (see --help)\n";
    return 2;
  }
  quantd::model::Llama2cOptions options;
  options.context_length = absl::GetFlag(FLAGS_context_length);
  options.name = absl::GetFlag(FLAGS_name);
  const absl::Status s = quantd::model::convert_llama2c_file(checkpoint, tokenizer, out, options);
  if (!s.ok()) {
    std::cerr << "quantd-convert-llama2c: " << s << "\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}
