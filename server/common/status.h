// Early-return helpers for absl::Status / StatusOr, shared by every server library (Debian's
// Abseil 20220623 has no public RETURN_IF_ERROR / ASSIGN_OR_RETURN), and the
// std::string_view -> absl::string_view bridge StrCat needs (Debian's Abseil is built with its
// own absl::string_view, not an alias of std::string_view).
#pragma once

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#define QUANTD_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status quantd_status_ = (expr);          \
    if (!quantd_status_.ok()) return quantd_status_; \
  } while (0)

#define QUANTD_CONCAT_INNER_(a, b) a##b
#define QUANTD_CONCAT_(a, b) QUANTD_CONCAT_INNER_(a, b)
#define QUANTD_ASSIGN_OR_RETURN(lhs, expr) \
  QUANTD_ASSIGN_OR_RETURN_IMPL_(QUANTD_CONCAT_(quantd_statusor_, __LINE__), lhs, expr)
#define QUANTD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

namespace quantd {

inline absl::string_view sv(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace quantd
