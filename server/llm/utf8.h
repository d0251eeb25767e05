// UTF-8 helpers for the tokenizers, and the streaming guard that keeps half a character from
// ever reaching a client.
//
// Tokens are byte strings: a byte-fallback or byte-level BPE token can hold the first byte of a
// multi-byte character and the next token the rest. Protobuf `string` fields must be valid
// UTF-8, so generated text is passed through Utf8Stream, which holds an incomplete trailing
// sequence until the bytes that finish it arrive, and replaces bytes that can never form a
// character with U+FFFD (so a model emitting garbage cannot stall the stream forever).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quantd::llm {

// Length of the sequence a lead byte announces: 1..4, or 0 for a continuation or invalid byte.
int utf8_sequence_length(uint8_t lead);

// Length of the valid character starting at s[0]: 1..4, or 0 when s does not start with a
// complete, valid (shortest-form, non-surrogate, <= U+10FFFF) character. Sets *incomplete when s
// is a valid prefix that more bytes could finish.
int utf8_valid_prefix(std::string_view s, bool* incomplete = nullptr);

// Appends the UTF-8 encoding of a code point (<= U+10FFFF).
void append_utf8(uint32_t cp, std::string* out);

// Decodes the character at s[*pos] and advances *pos. Invalid bytes decode as U+FFFD, one byte
// at a time, so every input makes progress.
uint32_t next_code_point(std::string_view s, size_t* pos);

// Splits s into characters (each a view into s); invalid bytes come out as one-byte pieces.
std::vector<std::string_view> split_utf8(std::string_view s);

// Streaming validator: push() returns the longest valid UTF-8 text that can be released.
class Utf8Stream {
 public:
  std::string push(std::string_view bytes);
  // End of stream: whatever is held (an unfinished sequence) comes out as U+FFFD.
  std::string flush();
  size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace quantd::llm
