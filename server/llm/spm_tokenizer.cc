#include "server/llm/spm_tokenizer.h"

#include <array>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace quantd::llm {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Parses "<0xAB>"; -1 when the piece is not of that form.
int parse_byte_piece(std::string_view p) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
  int v = 0;
  for (char c : p.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else return -1;
  }
  return v;
}

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(Vocabulary vocab) : Tokenizer(std::move(vocab)) {
    byte_token_.fill(-1);
    ids_.reserve(vocab_.tokens.size());
    for (size_t i = 0; i < vocab_.tokens.size(); ++i) {
      // Later duplicates win, as in llama.cpp's token_to_id map.
      ids_[vocab_.tokens[i]] = static_cast<int32_t>(i);
      const int b = parse_byte_piece(vocab_.tokens[i]);
      if (b >= 0 && type(static_cast<int32_t>(i)) == TokenType::kByte) byte_token_[b] = static_cast<int32_t>(i);
    }
  }

  bool adds_space_prefix() const override { return vocab_.add_space_prefix; }

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string piece(int32_t token) const override;

 private:
  // A symbol is a run of the escaped text, linked to its neighbours; merged symbols have n = 0.
  struct Symbol {
    int prev;
    int next;
    size_t start;
    size_t n;
  };
  struct Bigram {
    int left;
    int right;
    float score;
    size_t size;
  };
  // Highest score first, then leftmost: the order llama.cpp's work queue pops.
  struct Lower {
    bool operator()(const Bigram& a, const Bigram& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  using Queue = std::priority_queue<Bigram, std::vector<Bigram>, Lower>;

  int32_t find(std::string_view s) const {
    const auto it = ids_.find(std::string(s));
    return it == ids_.end() ? -1 : it->second;
  }
  float score(int32_t id) const { return vocab_.scores.empty() ? 0.0f : vocab_.scores[id]; }

  void try_add_bigram(const std::string& text, const std::vector<Symbol>& symbols, int left, int right,
                      Queue* queue) const;
  void emit(std::string_view piece_text, std::vector<int32_t>* out) const;

  std::unordered_map<std::string, int32_t> ids_;
  std::array<int32_t, 256> byte_token_;
};

void SpmTokenizer::try_add_bigram(const std::string& text, const std::vector<Symbol>& symbols, int left,
                                  int right, Queue* queue) const {
  if (left < 0 || right < 0) return;
  const Symbol& l = symbols[left];
  const Symbol& r = symbols[right];
  const std::string joined = text.substr(l.start, l.n + r.n);
  const int32_t id = find(joined);
  if (id < 0) return;
  queue->push(Bigram{left, right, score(id), joined.size()});
}

// A merged symbol is always a piece (pairs are only merged into pieces), so only single
// characters can miss the vocabulary; llama.cpp's "resegment" step along reverse merges
// therefore never fires and is not needed here. Misses fall back to byte tokens.
void SpmTokenizer::emit(std::string_view piece_text, std::vector<int32_t>* out) const {
  if (const int32_t id = find(piece_text); id >= 0) {
    out->push_back(id);
    return;
  }
  for (char c : piece_text) {
    const int32_t b = byte_token_[static_cast<uint8_t>(c)];
    if (b >= 0) out->push_back(b);
    else if (vocab_.unk >= 0) out->push_back(vocab_.unk);
  }
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view raw, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  if (raw.empty()) return out;

  std::string text;
  text.reserve(raw.size() * 3 + 3);
  if (vocab_.add_space_prefix) text += kSpaceMark;
  for (char c : raw) {
    if (c == ' ') text += kSpaceMark;
    else text.push_back(c);
  }

  std::vector<Symbol> symbols;
  for (std::string_view ch : split_utf8(text)) {
    const int idx = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{idx - 1, idx + 1, static_cast<size_t>(ch.data() - text.data()), ch.size()});
  }
  symbols.back().next = -1;

  Queue queue;
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add_bigram(text, symbols, i - 1, i, &queue);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = symbols[b.left];
    Symbol& r = symbols[b.right];
    // Stale entries: one side already merged away, or grown since the pair was queued.
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    try_add_bigram(text, symbols, l.prev, b.left, &queue);
    try_add_bigram(text, symbols, b.left, l.next, &queue);
  }

  for (int i = 0; i >= 0; i = symbols[i].next) {
    emit(std::string_view(text).substr(symbols[i].start, symbols[i].n), &out);
  }
  return out;
}

std::string SpmTokenizer::piece(int32_t token) const {
  if (token < 0 || token >= n_vocab()) return "";
  const std::string& p = vocab_.tokens[token];
  switch (type(token)) {
    case TokenType::kByte: {
      const int b = parse_byte_piece(p);
      return b >= 0 ? std::string(1, static_cast<char>(b)) : "";
    }
    case TokenType::kControl:
    case TokenType::kUnused:
      return "";
    case TokenType::kUnknown:
      return "\xE2\x96\x85";  // U+2585, what llama.cpp prints for <unk>
    default: {
      std::string out;
      out.reserve(p.size());
      for (size_t i = 0; i < p.size();) {
        if (std::string_view(p).substr(i, 3) == kSpaceMark) {
          out.push_back(' ');
          i += 3;
        } else {
          out.push_back(p[i++]);
        }
      }
      return out;
    }
  }
}

}  // namespace

std::unique_ptr<const Tokenizer> make_spm_tokenizer(Vocabulary vocab) {
  return std::make_unique<SpmTokenizer>(std::move(vocab));
}

}  // namespace quantd::llm
