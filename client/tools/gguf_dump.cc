// quantd-gguf-dump FILE [--max-array N]
// Prints a GGUF file's version, alignment, metadata and tensors, after full validation.
#include <iostream>

#include "server/common/flags.h"
#include "server/model/gguf.h"
#include "server/model/gguf_dump.h"

int main(int argc, char** argv) {
  uint64_t max_array = quantd::model::GgufDumpOptions().max_array_values;
  quantd::flags::FlagSet flags("quantd-gguf-dump",
                               "usage: quantd-gguf-dump FILE [flags]\n\n"
                               "Lists a GGUF file's version, alignment, metadata and tensors, after full validation.");
  flags.add("max-array", &max_array, "Array values shown before abbreviating.");
  const std::vector<std::string> files = flags.parse_or_exit(argc, argv);
  if (files.size() != 1) {
    std::cerr << "usage: quantd-gguf-dump FILE (see --help)\n";
    return 2;
  }
  auto file = quantd::model::GgufFile::open(files[0]);
  if (!file.ok()) {
    std::cerr << "quantd-gguf-dump: " << file.status() << "\n";
    return 1;
  }
  quantd::model::GgufDumpOptions options;
  options.max_array_values = static_cast<size_t>(max_array);
  quantd::model::dump_gguf(**file, std::cout, options);
  return 0;
}
