#include "server/llm/pretokenizer.h"

#include <algorithm>
#include <iterator>

#include "server/llm/utf8.h"

namespace quantd::llm {
namespace {

struct Range {
  uint32_t lo;
  uint32_t hi;  // inclusive
};

// kLetters, kNumbers, kSpaces: generated from the Unicode database by unicode_classes.py.
#include "server/llm/unicode_classes.inc"

template <size_t N>
constexpr bool sorted_disjoint(const Range (&table)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (table[i].lo > table[i].hi || (i > 0 && table[i - 1].hi >= table[i].lo)) return false;
  }
  return true;
}
static_assert(sorted_disjoint(kLetters) && sorted_disjoint(kNumbers) && sorted_disjoint(kSpaces));

template <size_t N>
bool in(const Range (&table)[N], uint32_t cp) {
  // Tables are sorted and disjoint: binary search on the upper bound.
  const Range* it = std::lower_bound(std::begin(table), std::end(table), cp,
                                     [](const Range& r, uint32_t v) { return r.hi < v; });
  return it != std::end(table) && it->lo <= cp;
}

struct Char {
  uint32_t cp;
  CharClass cls;
  size_t offset;  // byte offset in the text
};

bool is_newline(const Char& c) { return c.cp == '\r' || c.cp == '\n'; }

class Scanner {
 public:
  explicit Scanner(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t start = pos;
      const int len = utf8_valid_prefix(text.substr(pos));
      // Invalid bytes stand alone as "other": they stay in the output, byte for byte.
      const uint32_t cp = len == 0 ? 0xFFFD : next_code_point(text, &pos);
      if (len == 0) pos = start + 1;
      chars_.push_back(Char{cp, len == 0 ? CharClass::kOther : unicode_class(cp), start});
    }
  }
  size_t size() const { return chars_.size(); }
  const Char& operator[](size_t i) const { return chars_[i]; }
  size_t offset(size_t i) const { return i < chars_.size() ? chars_[i].offset : end_offset_; }
  void set_end(size_t e) { end_offset_ = e; }
  bool is(size_t i, CharClass c) const { return i < chars_.size() && chars_[i].cls == c; }
  size_t run(size_t i, CharClass c) const {
    while (is(i, c)) ++i;
    return i;
  }

 private:
  std::vector<Char> chars_;
  size_t end_offset_ = 0;
};

char lower_ascii(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return static_cast<char>(cp - 'A' + 'a');
  return cp < 0x80 ? static_cast<char>(cp) : '\0';
}

// 's 't 're 've 'm 'll 'd: end index, or 0 when none matches at i.
size_t contraction(const Scanner& s, size_t i, bool ignore_case) {
  if (s[i].cp != '\'') return 0;
  auto ch = [&](size_t k) -> char {
    if (k >= s.size()) return '\0';
    return ignore_case ? lower_ascii(s[k].cp) : (s[k].cp < 0x80 ? static_cast<char>(s[k].cp) : '\0');
  };
  const char a = ch(i + 1), b = ch(i + 2);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  return 0;
}

// \s+(?!\S) then \s+: a whitespace run, leaving its last character to the word after it.
size_t whitespace(const Scanner& s, size_t i) {
  const size_t j = s.run(i, CharClass::kSpace);
  if (j == i) return 0;
  if (j < s.size() && j - i >= 2) return j - 1;
  return j;
}

size_t next_gpt2(const Scanner& s, size_t i) {
  if (size_t e = contraction(s, i, false)) return e;
  const size_t k = (s[i].cp == ' ' && i + 1 < s.size()) ? i + 1 : i;  // the optional leading space
  for (CharClass c : {CharClass::kLetter, CharClass::kNumber, CharClass::kOther}) {
    if (s.is(k, c)) return s.run(k, c);
  }
  if (size_t e = whitespace(s, i)) return e;
  return i + 1;
}

size_t next_llama3(const Scanner& s, size_t i) {
  if (size_t e = contraction(s, i, true)) return e;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (s.is(i, CharClass::kLetter)) return s.run(i, CharClass::kLetter);
  if (!is_newline(s[i]) && !s.is(i, CharClass::kNumber) && s.is(i + 1, CharClass::kLetter)) {
    return s.run(i + 1, CharClass::kLetter);
  }
  // \p{N}{1,3}
  if (s.is(i, CharClass::kNumber)) {
    size_t j = i;
    while (j < i + 3 && s.is(j, CharClass::kNumber)) ++j;
    return j;
  }
  // ' '?[^\s\p{L}\p{N}]+[\r\n]*
  const size_t k = (s[i].cp == ' ' && i + 1 < s.size()) ? i + 1 : i;
  if (s.is(k, CharClass::kOther)) {
    size_t j = s.run(k, CharClass::kOther);
    while (j < s.size() && is_newline(s[j])) ++j;
    return j;
  }
  // \s*[\r\n]+: the whitespace run up to its last line break.
  const size_t j = s.run(i, CharClass::kSpace);
  for (size_t m = j; m > i; --m) {
    if (is_newline(s[m - 1])) return m;
  }
  if (size_t e = whitespace(s, i)) return e;
  return i + 1;
}

}  // namespace

CharClass unicode_class(uint32_t cp) {
  if (cp < 0x80) {  // the common case, without a search
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return CharClass::kSpace;
    return CharClass::kOther;
  }
  if (in(kLetters, cp)) return CharClass::kLetter;
  if (in(kNumbers, cp)) return CharClass::kNumber;
  if (in(kSpaces, cp)) return CharClass::kSpace;
  return CharClass::kOther;
}

PreTokenizer pretokenizer_for(std::string_view pre) {
  for (std::string_view p : {"llama-bpe", "llama3", "llama-v3", "smaug-bpe", "dbrx", "tekken", "falcon3"}) {
    if (pre == p) return PreTokenizer::kLlama3;
  }
  return PreTokenizer::kGpt2;
}

std::vector<std::string_view> pretokenize(std::string_view text, PreTokenizer flavour) {
  Scanner s(text);
  s.set_end(text.size());
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t j = flavour == PreTokenizer::kLlama3 ? next_llama3(s, i) : next_gpt2(s, i);
    out.push_back(text.substr(s.offset(i), s.offset(j) - s.offset(i)));
    i = j;
  }
  return out;
}

}  // namespace quantd::llm
