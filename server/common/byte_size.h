// Byte sizes on the command line: "268435456", "256MiB", "256 MiB", "1.5GiB", "1000 bytes" in,
// "256 MiB" out.
// Units are binary (KiB = 1024 bytes); K, M, G, T are read as KiB, MiB, GiB, TiB. KB, MB, GB
// are refused rather than guessed (1000 or 1024?).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace quantd::flags {

// A whole, non-negative number of bytes that fits in int64_t.
absl::StatusOr<int64_t> parse_byte_size(std::string_view text);

// The largest unit that divides the value exactly: 268435456 -> "256 MiB", 1000 -> "1000 bytes".
std::string format_byte_size(int64_t bytes);

}  // namespace quantd::flags
