#include "server/common/byte_size.h"

#include <array>
#include <cctype>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"

namespace quantd::flags {
namespace {

struct Unit {
  const char* name;
  int shift;
};
// Largest first, for format_byte_size.
constexpr std::array<Unit, 4> kUnits = {{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}};

// The shift of a unit suffix ("" for bytes), or -1.
int unit_shift(std::string unit) {
  unit = absl::AsciiStrToLower(unit);
  if (unit.empty() || unit == "b" || unit == "byte" || unit == "bytes") return 0;
  for (const Unit& u : kUnits) {
    const std::string name = absl::AsciiStrToLower(u.name);
    if (unit == name || unit == name.substr(0, 1)) return u.shift;
  }
  return -1;
}

absl::Status bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("'", sv(text), "' is not a byte size (", sv(why),
                                                 "): write bytes or a number with KiB, MiB, GiB or TiB"));
}

}  // namespace

absl::StatusOr<int64_t> parse_byte_size(std::string_view text) {
  const absl::string_view s = absl::StripAsciiWhitespace(sv(text));
  size_t i = 0;
  uint64_t whole = 0;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    const auto digit = static_cast<uint64_t>(s[i] - '0');
    if (whole > (kMax - digit) / 10) return bad(text, "too large");
    whole = whole * 10 + digit;
  }
  if (i == 0) return bad(text, "no number");
  // A fraction is allowed with a unit ("1.5GiB") as long as the result is whole bytes.
  uint64_t fraction = 0, denominator = 1;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      if (denominator >= 1000000) return bad(text, "more than 6 decimals");
      fraction = fraction * 10 + static_cast<uint64_t>(s[i] - '0');
      denominator *= 10;
    }
  }
  const int shift = unit_shift(std::string(absl::StripLeadingAsciiWhitespace(s.substr(i))));
  if (shift < 0) return bad(text, "unknown unit");
  if (whole > (kMax >> shift)) return bad(text, "too large");
  const uint64_t fraction_bytes = fraction << shift;  // < 10^6 * 2^40: no overflow
  if (fraction_bytes % denominator != 0) return bad(text, "not a whole number of bytes");
  const uint64_t bytes = (whole << shift) + fraction_bytes / denominator;
  if (bytes > kMax) return bad(text, "too large");
  return static_cast<int64_t>(bytes);
}

std::string format_byte_size(int64_t bytes) {
  if (bytes > 0) {
    for (const Unit& u : kUnits) {
      if (bytes % (int64_t{1} << u.shift) == 0) return absl::StrCat(bytes >> u.shift, " ", u.name);
    }
  }
  return absl::StrCat(bytes, bytes == 1 ? " byte" : " bytes");
}

}  // namespace quantd::flags
