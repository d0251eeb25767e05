#include "server/llm/bpe_tokenizer.h"

#include <array>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/llm/pretokenizer.h"
#include "server/llm/utf8.h"

namespace quantd::llm {
namespace {

struct ByteMap {
  std::array<uint32_t, 256> to_cp{};
  std::array<int, 324> to_byte{};  // code points stay below 256 + 68
  ByteMap() {
    to_byte.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_cp[b] = printable ? static_cast<uint32_t>(b) : next++;
      to_byte[to_cp[b]] = b;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(Vocabulary vocab)
      : Tokenizer(std::move(vocab)), flavour_(pretokenizer_for(vocab_.pre)) {
    ids_.reserve(vocab_.tokens.size());
    for (size_t i = 0; i < vocab_.tokens.size(); ++i) ids_[vocab_.tokens[i]] = static_cast<int32_t>(i);
    ranks_.reserve(vocab_.merges.size());
    for (size_t i = 0; i < vocab_.merges.size(); ++i) {
      // The first listed rank of a pair wins.
      ranks_.emplace(vocab_.merges[i], static_cast<int32_t>(i));
    }
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string piece(int32_t token) const override;

 private:
  struct Symbol {
    int prev;
    int next;
    size_t start;
    size_t n;
  };
  struct Pair {
    int left;
    int right;
    int32_t rank;
    size_t size;
  };
  // Lowest rank first, then leftmost.
  struct Later {
    bool operator()(const Pair& a, const Pair& b) const {
      return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
  };

  int32_t find(std::string_view s) const {
    const auto it = ids_.find(std::string(s));
    return it == ids_.end() ? -1 : it->second;
  }
  void encode_word(const std::string& mapped, std::vector<int32_t>* out) const;

  PreTokenizer flavour_;
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_map<std::string, int32_t> ranks_;  // "left right" -> rank
};

void BpeTokenizer::encode_word(const std::string& word, std::vector<int32_t>* out) const {
  // Llama 3's tokenizer takes a word that is itself a token as is (llama.cpp's ignore_merges).
  if (flavour_ == PreTokenizer::kLlama3) {
    if (const int32_t id = find(word); id >= 0) {
      out->push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  for (std::string_view ch : split_utf8(word)) {
    const int idx = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{idx - 1, idx + 1, static_cast<size_t>(ch.data() - word.data()), ch.size()});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::priority_queue<Pair, std::vector<Pair>, Later> queue;
  std::string key;
  auto add_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    key.assign(word, l.start, l.n);
    key.push_back(' ');
    key.append(word, r.start, r.n);
    const auto it = ranks_.find(key);
    if (it != ranks_.end()) queue.push(Pair{left, right, it->second, l.n + r.n});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) add_pair(i - 1, i);

  while (!queue.empty()) {
    const Pair p = queue.top();
    queue.pop();
    Symbol& l = symbols[p.left];
    Symbol& r = symbols[p.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != p.size || l.next != p.right) continue;  // stale
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = p.left;
    add_pair(l.prev, p.left);
    add_pair(p.left, l.next);
  }

  for (int i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view text = std::string_view(word).substr(symbols[i].start, symbols[i].n);
    if (const int32_t id = find(text); id >= 0) {
      out->push_back(id);
      continue;
    }
    // A merge result missing from the vocabulary: fall back to its characters.
    for (std::string_view ch : split_utf8(text)) {
      const int32_t id = find(ch);
      if (id >= 0) out->push_back(id);
      else if (vocab_.unk >= 0) out->push_back(vocab_.unk);
    }
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  std::string mapped;
  for (std::string_view word : pretokenize(text, flavour_)) {
    mapped.clear();
    for (char c : word) append_utf8(byte_to_code_point(static_cast<uint8_t>(c)), &mapped);
    encode_word(mapped, &out);
  }
  return out;
}

std::string BpeTokenizer::piece(int32_t token) const {
  if (token < 0 || token >= n_vocab()) return "";
  const std::string& p = vocab_.tokens[token];
  switch (type(token)) {
    case TokenType::kControl:
    case TokenType::kUnused:
      return "";
    case TokenType::kUserDefined:
      return p;  // added tokens are stored as plain text
    default: {
      std::string out;
      size_t pos = 0;
      while (pos < p.size()) {
        const size_t start = pos;
        const uint32_t cp = next_code_point(p, &pos);
        const int b = code_point_to_byte(cp);
        if (b >= 0) out.push_back(static_cast<char>(b));
        else out.append(p, start, pos - start);  // not a mapped byte: keep the text
      }
      return out;
    }
  }
}

}  // namespace

uint32_t byte_to_code_point(uint8_t b) { return byte_map().to_cp[b]; }

int code_point_to_byte(uint32_t cp) {
  return cp < byte_map().to_byte.size() ? byte_map().to_byte[cp] : -1;
}

std::unique_ptr<const Tokenizer> make_bpe_tokenizer(Vocabulary vocab) {
  return std::make_unique<BpeTokenizer>(std::move(vocab));
}

}  // namespace quantd::llm
