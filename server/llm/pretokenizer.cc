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

// \s in PCRE's Unicode mode (White_Space).
constexpr Range kSpaces[] = {
    {0x09, 0x0D}, {0x20, 0x20}, {0x85, 0x85}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};

// \p{N} in the blocks text commonly uses (Nd, Nl, No).
constexpr Range kNumbers[] = {
    {0x30, 0x39},     {0xB2, 0xB3},     {0xB9, 0xB9},     {0xBC, 0xBE},     {0x660, 0x669},
    {0x6F0, 0x6F9},   {0x7C0, 0x7C9},   {0x966, 0x96F},   {0x9E6, 0x9EF},   {0xA66, 0xA6F},
    {0xAE6, 0xAEF},   {0xB66, 0xB6F},   {0xBE6, 0xBF2},   {0xC66, 0xC6F},   {0xCE6, 0xCEF},
    {0xD66, 0xD78},   {0xE50, 0xE59},   {0xED0, 0xED9},   {0xF20, 0xF33},   {0x1040, 0x1049},
    {0x17E0, 0x17E9}, {0x1810, 0x1819}, {0x2070, 0x2070}, {0x2074, 0x2079}, {0x2080, 0x2089},
    {0x2150, 0x2182}, {0x2185, 0x2189}, {0x2460, 0x249B}, {0x24EA, 0x24FF}, {0x2776, 0x2793},
    {0x3007, 0x3007}, {0x3021, 0x3029}, {0x3038, 0x303A}, {0x3192, 0x3195}, {0x3220, 0x3229},
    {0x3248, 0x324F}, {0x3251, 0x325F}, {0x3280, 0x3289}, {0x32B1, 0x32BF}, {0xFF10, 0xFF19},
    {0x1D7CE, 0x1D7FF}, {0x1F100, 0x1F10C},
};

// Neither letter, number nor space: punctuation, symbols, combining marks, format characters,
// emoji. Everything else at or above U+0080 counts as a letter.
constexpr Range kOthers[] = {
    {0x80, 0x9F},       {0xA1, 0xA9},       {0xAB, 0xB1},       {0xB4, 0xB4},       {0xB6, 0xB8},
    {0xBB, 0xBB},       {0xBF, 0xBF},       {0xD7, 0xD7},       {0xF7, 0xF7},       {0x2C2, 0x2C5},
    {0x2D2, 0x2DF},     {0x2E5, 0x2EB},     {0x2ED, 0x2ED},     {0x2EF, 0x36F},     {0x375, 0x375},
    {0x37E, 0x37E},     {0x384, 0x385},     {0x387, 0x387},     {0x3F6, 0x3F6},     {0x482, 0x489},
    {0x55A, 0x55F},     {0x589, 0x58A},     {0x591, 0x5C7},     {0x5F3, 0x5F4},     {0x600, 0x61F},
    {0x64B, 0x65F},     {0x66A, 0x66D},     {0x670, 0x670},     {0x6D4, 0x6D4},     {0x6D6, 0x6ED},
    {0x900, 0x903},     {0x93A, 0x93C},     {0x93E, 0x94F},     {0x951, 0x957},     {0x962, 0x965},
    {0x970, 0x970},     {0xE31, 0xE31},     {0xE34, 0xE3F},     {0xE47, 0xE4F},     {0xE5A, 0xE5B},
    {0x200B, 0x200F},   {0x2010, 0x2027},   {0x202A, 0x202E},   {0x2030, 0x205E},   {0x2060, 0x206F},
    {0x207A, 0x207E},   {0x208A, 0x208E},   {0x20A0, 0x20FF},   {0x2100, 0x2101},   {0x2103, 0x2106},
    {0x2108, 0x2109},   {0x2114, 0x2114},   {0x2116, 0x2118},   {0x211E, 0x2123},   {0x2125, 0x2125},
    {0x2127, 0x2127},   {0x2129, 0x2129},   {0x212E, 0x212E},   {0x213A, 0x213B},   {0x2140, 0x2144},
    {0x214A, 0x214D},   {0x214F, 0x214F},   {0x218A, 0x218B},   {0x2190, 0x245F},   {0x249C, 0x24E9},
    {0x2500, 0x2775},   {0x2794, 0x2BFF},   {0x2CE5, 0x2CEA},   {0x2CEF, 0x2CF1},   {0x2CF9, 0x2CFC},
    {0x2CFE, 0x2CFF},   {0x2DE0, 0x2E2E},   {0x2E30, 0x2E7F},   {0x2E80, 0x2FFF},   {0x3001, 0x3004},
    {0x3008, 0x3020},   {0x302A, 0x3030},   {0x3036, 0x3037},   {0x303D, 0x303F},   {0x3099, 0x309C},
    {0x30A0, 0x30A0},   {0x30FB, 0x30FB},   {0x3190, 0x3191},   {0x3196, 0x319F},   {0x31C0, 0x31EF},
    {0x3200, 0x321E},   {0x322A, 0x3247},   {0x3250, 0x3250},   {0x3260, 0x327F},   {0x328A, 0x32B0},
    {0x32C0, 0x33FF},   {0x4DC0, 0x4DFF},   {0xA490, 0xA4C6},   {0xA4FE, 0xA4FF},   {0xD800, 0xDFFF},
    {0xE000, 0xF8FF},   {0xFB29, 0xFB29},   {0xFD3E, 0xFD3F},   {0xFE00, 0xFE6F},   {0xFEFF, 0xFEFF},
    {0xFF01, 0xFF0F},   {0xFF1A, 0xFF20},   {0xFF3B, 0xFF40},   {0xFF5B, 0xFF65},   {0xFFE0, 0xFFFF},
    {0x1D000, 0x1D7CD}, {0x1F000, 0x1F0FF}, {0x1F10D, 0x1FBFF}, {0xE0000, 0xE0FFF}, {0xF0000, 0x10FFFF},
};

template <size_t N>
constexpr bool sorted_disjoint(const Range (&table)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (table[i].lo > table[i].hi || (i > 0 && table[i - 1].hi >= table[i].lo)) return false;
  }
  return true;
}
static_assert(sorted_disjoint(kSpaces) && sorted_disjoint(kNumbers) && sorted_disjoint(kOthers));

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
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (in(kSpaces, cp)) return CharClass::kSpace;
    return CharClass::kOther;
  }
  if (in(kSpaces, cp)) return CharClass::kSpace;
  if (in(kNumbers, cp)) return CharClass::kNumber;
  if (in(kOthers, cp)) return CharClass::kOther;
  return CharClass::kLetter;
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
