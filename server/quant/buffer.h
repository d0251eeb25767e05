// Internal: output buffers and input checks shared by the block and integer paths.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace quantd::quant::internal {

// A zeroed byte vector of n bytes. Large ones are advised onto transparent huge pages
// (Linux) before the first touch: a fresh 64 MiB buffer otherwise costs ~16k page faults,
// more than the kernels take to fill it.
std::vector<uint8_t> make_output(uint64_t n);

// Index of the first NaN or Inf in x[0..n) or -1: a branch-free scan that vectorizes,
// then an exact search only when it found one.
int64_t first_non_finite_in(const float* x, int64_t n);

// OK for bad < 0, else INVALID_ARGUMENT naming x[bad], the first non-finite flat index.
absl::Status non_finite_error(const float* x, int64_t bad);

}  // namespace quantd::quant::internal
