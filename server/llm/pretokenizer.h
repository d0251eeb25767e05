// The split a byte-level BPE applies before merging, as a hand-written scanner instead of a
// regex engine (std::regex has no \p{L}, and Debian's Abseil has no Unicode regex either).
//
// Two flavours, after the regexes the model families were trained with:
//   kGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Each alternative is tried in order at the current position, as the regex engine would.
//
// Character classes: \p{L}, \p{N} and \s come from tables generated from the Unicode database
// (unicode_classes.py -> unicode_classes.inc), so they agree with a Unicode regex engine; the
// scanner was checked against Python's `regex` module on both patterns. Invalid UTF-8 bytes
// count as "other" and are kept, one per character: decode(encode(x)) == x for any bytes.
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
