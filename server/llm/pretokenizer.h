// The split a byte-level BPE applies before merging, as a hand-written scanner instead of a
// regex engine (std::regex has no \p{L}, and Debian's Abseil has no Unicode regex either).
//
// Two flavours, after the regexes the model families were trained with:
//   kGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Each alternative is tried in order at the current position, as the regex engine would.
//
// Approximation: the character classes come from a compact table (unicode_class in
// pretokenizer.cc), not the full Unicode database: ASCII, Latin, Greek, Cyrillic, CJK, kana,
// Hangul, the common digit blocks, punctuation and symbol blocks and emoji are classified as
// Unicode does; rarer scripts default to "letter". A misclassified character changes where a
// word is cut, hence which tokens come out, but never loses bytes: decode(encode(x)) == x holds
// for every input.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace quantd::llm {

enum class PreTokenizer { kGpt2, kLlama3 };

// tokenizer.ggml.pre -> flavour ("llama-bpe", "llama3", "smaug-bpe" ... -> kLlama3; else kGpt2).
PreTokenizer pretokenizer_for(std::string_view pre);

enum class CharClass { kLetter, kNumber, kSpace, kOther };
CharClass unicode_class(uint32_t cp);

// The pieces of text (views into it, in order, covering it exactly).
std::vector<std::string_view> pretokenize(std::string_view text, PreTokenizer flavour);

}  // namespace quantd::llm
