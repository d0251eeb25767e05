// SentencePiece BPE as llama.cpp runs it for tokenizer.ggml.model == "llama".
//
// Encoding: spaces become U+2581 and one is prepended (add_space_prefix); the text is split
// into UTF-8 characters; then, repeatedly, the adjacent pair whose concatenation is a vocabulary
// piece with the highest score (leftmost on ties) is merged. A final symbol that is not a piece
// (a character the vocabulary lacks) becomes its bytes' <0xXX> tokens (byte fallback; the
// unknown token when the vocabulary has no byte tokens).
#pragma once

#include <memory>

#include "server/llm/tokenizer.h"

namespace quantd::llm {

std::unique_ptr<const Tokenizer> make_spm_tokenizer(Vocabulary vocab);

}  // namespace quantd::llm
