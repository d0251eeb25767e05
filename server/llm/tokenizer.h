// Tokenizers built from a model's GGUF vocabulary: the interface, the vocabulary data, and the
// streaming detokenizer.
//
// Two kinds, chosen by tokenizer.ggml.model:
//   "llama": SentencePiece BPE (spm_tokenizer.cc): pieces with scores, U+2581 for space, a
//            leading space added to the text, byte fallback through <0xXX> tokens.
//   "gpt2":  byte-level BPE (bpe_tokenizer.cc): every byte mapped to a printable code point,
//            a regex-like pre-tokenizer (pretokenizer.cc), merges applied by rank.
// Special tokens (CONTROL) in the input text are not parsed: "<s>" typed by a user is plain
// text, as llama.cpp does with parse_special = false.
//
// Thread safety: a Tokenizer is immutable after creation; every method is const and may be
// called from many threads. A Detokenizer is per stream and not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/llm/utf8.h"

namespace quantd::model {
class GgufFile;
}

namespace quantd::llm {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Everything a tokenizer is built from, as read from the GGUF metadata (or built by a test).
struct Vocabulary {
  std::string model;                // "llama" or "gpt2"
  std::string pre;                  // tokenizer.ggml.pre ("" when absent): BPE pre-tokenizer flavour
  std::vector<std::string> tokens;  // piece text, as stored
  std::vector<float> scores;        // SPM merge priority (empty: all 0)
  std::vector<TokenType> types;     // empty: all normal
  std::vector<std::string> merges;  // BPE: "left right", in rank order
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t eot = -1;                 // tokenizer.ggml.eot_token_id (chat models), -1 when absent
  int32_t unk = -1;
  bool add_bos = true;              // tokenizer.ggml.add_bos_token
  bool add_space_prefix = true;     // tokenizer.ggml.add_space_prefix (SPM only)
};

// Reads tokenizer.ggml.* from a GGUF file. INVALID_ARGUMENT names the key that is missing,
// mistyped or inconsistent (e.g. scores of another length than tokens).
absl::StatusOr<Vocabulary> vocabulary_from_gguf(const model::GgufFile& gguf);

class Tokenizer {
 public:
  // Validates the vocabulary (ids in range, lengths agree, known model) and builds the lookup
  // tables. INVALID_ARGUMENT on a bad vocabulary, UNIMPLEMENTED on an unknown model kind.
  static absl::StatusOr<std::unique_ptr<const Tokenizer>> create(Vocabulary vocab);
  static absl::StatusOr<std::unique_ptr<const Tokenizer>> from_gguf(const model::GgufFile& gguf);
  virtual ~Tokenizer() = default;

  // Token ids for text (any bytes; invalid UTF-8 goes through byte fallback), with BOS first
  // when add_bos and the vocabulary has one.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // The bytes a token stands for: a piece may be part of a UTF-8 character. Control and unused
  // tokens give "" (they are not text); out-of-range ids give "".
  virtual std::string piece(int32_t token) const = 0;
  // The text of a token sequence: pieces concatenated, with the leading space the encoder
  // added removed (SPM with add_space_prefix), so decode(encode(x)) == x. Invalid UTF-8 is
  // kept as bytes.
  std::string decode(std::span<const int32_t> tokens) const;

  const Vocabulary& vocabulary() const { return vocab_; }
  int32_t n_vocab() const { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  bool add_bos_by_default() const { return vocab_.add_bos; }
  // EOS or EOT: generation stops here.
  bool is_end_of_generation(int32_t token) const {
    return token >= 0 && (token == vocab_.eos || token == vocab_.eot);
  }
  TokenType type(int32_t token) const;
  // True when the encoder prepends a space that decode() removes.
  virtual bool adds_space_prefix() const { return false; }

 protected:
  explicit Tokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {}
  Vocabulary vocab_;
};

// Turns generated tokens into text as it arrives, never releasing half a UTF-8 character.
// With strip_leading_space, the first space of the output is dropped (the SPM prefix space,
// for text that starts a sequence; a continuation of a prompt keeps it).
class Detokenizer {
 public:
  Detokenizer(const Tokenizer& tokenizer, bool strip_leading_space)
      : tokenizer_(tokenizer), strip_(strip_leading_space) {}
  // The text this token completes (possibly "", when it ends mid-character).
  std::string push(int32_t token);
  // End of stream: an unfinished character comes out as U+FFFD.
  std::string finish() { return utf8_.flush(); }

 private:
  const Tokenizer& tokenizer_;
  bool strip_;
  bool started_ = false;
  Utf8Stream utf8_;
};

}  // namespace quantd::llm
