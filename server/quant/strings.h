// Internal: Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so StrCat does not take std::string_view: convert at the call.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace quantd::quant::internal {

inline absl::string_view sv(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace quantd::quant::internal
