// Reading and writing NumPy .npy files (format versions 1-3): little-endian float32 and
// float16 arrays in C order, which is what quantctl sends and receives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace quantd::client {

struct NpyArray {
  std::string dtype;            // numpy descr: "<f4" or "<f2"
  std::vector<int64_t> shape;   // empty for a 0-d array
  std::string data;             // raw little-endian bytes, C order
};

absl::StatusOr<NpyArray> read_npy(const std::string& path);
absl::Status write_npy(const std::string& path, const NpyArray& array);

}  // namespace quantd::client
