#include "server/llm/utf8.h"

namespace quantd::llm {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

int utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation bytes, and C0/C1 (overlong two-byte forms)
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;  // F5..FF would encode beyond U+10FFFF
}

int utf8_valid_prefix(std::string_view s, bool* incomplete) {
  if (incomplete != nullptr) *incomplete = false;
  if (s.empty()) return 0;
  const auto b0 = static_cast<uint8_t>(s[0]);
  const int len = utf8_sequence_length(b0);
  if (len <= 1) return len;
  // The second byte's range depends on the lead: this rules out overlong forms, surrogates
  // (ED A0..BF) and code points above U+10FFFF (F4 90..) at the earliest byte (Unicode Table 3-7).
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 == 0xE0) lo = 0xA0;
  if (b0 == 0xED) hi = 0x9F;
  if (b0 == 0xF0) lo = 0x90;
  if (b0 == 0xF4) hi = 0x8F;
  for (int i = 1; i < len; ++i) {
    if (static_cast<size_t>(i) >= s.size()) {
      if (incomplete != nullptr) *incomplete = true;
      return 0;
    }
    const auto b = static_cast<uint8_t>(s[i]);
    const uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return 0;
  }
  return len;
}

void append_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t next_code_point(std::string_view s, size_t* pos) {
  const std::string_view rest = s.substr(*pos);
  const int len = utf8_valid_prefix(rest);
  if (len == 0) {
    *pos += 1;
    return 0xFFFD;
  }
  *pos += len;
  const auto b = [&](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(rest[i])); };
  switch (len) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

std::vector<std::string_view> split_utf8(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    const int len = utf8_valid_prefix(s.substr(i));
    const size_t n = len == 0 ? 1 : static_cast<size_t>(len);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    bool incomplete = false;
    const int len = utf8_valid_prefix(std::string_view(pending_).substr(i), &incomplete);
    if (len > 0) {
      out.append(pending_, i, len);
      i += len;
    } else if (incomplete) {
      break;  // a valid start of a character: wait for the rest
    } else {
      out += kReplacement;
      i += 1;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Stream::flush() {
  std::string out;
  if (!pending_.empty()) out = kReplacement;
  pending_.clear();
  return out;
}

}  // namespace quantd::llm
