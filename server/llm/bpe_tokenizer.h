// Byte-level BPE (GPT-2 family, Llama 3) for tokenizer.ggml.model == "gpt2".
//
// Encoding: the text is cut into words by the pre-tokenizer (pretokenizer.h); each word's
// bytes are mapped to printable code points (GPT-2's bytes_to_unicode: the printable Latin-1
// bytes stand for themselves, the other 68 take U+0100 upward, so ' ' is 'Ġ'); the word's
// characters are merged pairwise, always the pair with the lowest merge rank (leftmost on
// ties), until no listed merge applies; each result is looked up in the vocabulary. Decoding
// maps the code points back to bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "server/llm/tokenizer.h"

namespace quantd::llm {

std::unique_ptr<const Tokenizer> make_bpe_tokenizer(Vocabulary vocab);

// GPT-2's reversible byte <-> code point map.
uint32_t byte_to_code_point(uint8_t b);
// -1 when the code point is not the image of a byte.
int code_point_to_byte(uint32_t cp);

}  // namespace quantd::llm
