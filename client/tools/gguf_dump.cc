// quantd-gguf-dump FILE [--max-array N]
// Prints a GGUF file's version, alignment, metadata and tensors, after full validation.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/tools/dashed_flags.h"
#include "server/model/gguf.h"
#include "server/model/gguf_dump.h"

ABSL_FLAG(size_t, max_array, 8, "array values shown before abbreviating");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Lists a GGUF file.\n  quantd-gguf-dump FILE");
  quantd::tools::DashedFlags flags(argc, argv);
  std::vector<char*> args = absl::ParseCommandLine(flags.argc(), flags.argv());
  if (args.size() != 2) {
    std::cerr << "usage: quantd-gguf-dump FILE\n";
    return 2;
  }
  auto file = quantd::model::GgufFile::open(args[1]);
  if (!file.ok()) {
    std::cerr << "quantd-gguf-dump: " << file.status() << "\n";
    return 1;
  }
  quantd::model::GgufDumpOptions options;
  options.max_array_values = absl::GetFlag(FLAGS_max_array);
  quantd::model::dump_gguf(**file, std::cout, options);
  return 0;
}
