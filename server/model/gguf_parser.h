// Internal: the parser entry point shared by GgufFile::open (mapped) and GgufFile::parse.
#pragma once

#include "absl/status/status.h"
#include "server/model/gguf.h"

namespace quantd::model::internal {

// Parses file->bytes_ into *file. On error *file is partly filled and must be discarded.
absl::Status run_gguf_parser(GgufFile* file);

}  // namespace quantd::model::internal
