// A human-readable listing of a GGUF file, in the manner of gguf-py's gguf-dump.
#pragma once

#include <ostream>

#include "server/model/gguf.h"

namespace quantd::model {

struct GgufDumpOptions {
  size_t max_array_values = 8;  // arrays longer than this are abbreviated with their length
  size_t max_string_bytes = 80;  // longer strings are cut with "..."
};

void dump_gguf(const GgufFile& file, std::ostream& out, const GgufDumpOptions& options = {});

// One metadata value as text ("[1, 2, 3, ... (512 values)]" for long arrays).
std::string format_gguf_value(const GgufValue& value, const GgufDumpOptions& options = {});

}  // namespace quantd::model
