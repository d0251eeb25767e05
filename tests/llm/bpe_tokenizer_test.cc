// Byte-level BPE: the byte map, the pre-tokenizer flavours, merges by rank, and round trips
// over a small vocabulary built here (all 256 byte symbols plus a few merges).
#include "server/llm/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "server/llm/pretokenizer.h"
#include "server/llm/tokenizer.h"
#include "server/llm/utf8.h"

namespace quantd::llm {
namespace {

std::string mapped(std::string_view bytes) {
  std::string out;
  for (char c : bytes) append_utf8(byte_to_code_point(static_cast<uint8_t>(c)), &out);
  return out;
}

// Ids 0..255: the byte symbols in byte order; then one token per merge result; then <|eot|>.
Vocabulary byte_vocab(const std::vector<std::pair<std::string, std::string>>& merges, const std::string& pre) {
  Vocabulary v;
  v.model = "gpt2";
  v.pre = pre;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(mapped(std::string(1, static_cast<char>(b))));
  for (const auto& [l, r] : merges) {
    v.merges.push_back(mapped(l) + " " + mapped(r));
    v.tokens.push_back(mapped(l + r));
  }
  v.types.assign(v.tokens.size(), TokenType::kNormal);
  v.tokens.push_back("<|eot|>");
  v.types.push_back(TokenType::kControl);
  v.eos = static_cast<int32_t>(v.tokens.size()) - 1;
  v.add_bos = false;
  v.add_space_prefix = false;
  return v;
}

const std::vector<std::pair<std::string, std::string>> kMerges = {
    {" ", "t"}, {"h", "e"}, {" t", "he"}, {" ", "c"}, {"a", "t"}, {" c", "at"}, {"b", "c"}, {"a", "b"},
};
constexpr int32_t kSpaceT = 256, kHe = 257, kSpaceThe = 258, kSpaceCat = 261, kBc = 262;

TEST(ByteMap, IsABijectionOntoPrintableCodePoints) {
  std::set<uint32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = byte_to_code_point(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(cp).second);
    EXPECT_EQ(code_point_to_byte(cp), b);
    EXPECT_EQ(unicode_class(cp) == CharClass::kSpace, false) << cp;
  }
  EXPECT_EQ(byte_to_code_point(' '), 0x120u);  // 'Ġ'
  EXPECT_EQ(byte_to_code_point('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(byte_to_code_point('!'), static_cast<uint32_t>('!'));
  EXPECT_EQ(byte_to_code_point(0xFF), 0xFFu);
  EXPECT_EQ(code_point_to_byte(0x4E2D), -1);
}

std::vector<std::string> pieces(std::string_view text, PreTokenizer flavour) {
  std::vector<std::string> out;
  for (std::string_view p : pretokenize(text, flavour)) out.emplace_back(p);
  return out;
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(pieces("Hello world's  test 123!!\n\n", PreTokenizer::kGpt2),
            (std::vector<std::string>{"Hello", " world", "'s", " ", " test", " 123", "!!", "\n\n"}));
  EXPECT_EQ(pieces("I'LL go", PreTokenizer::kGpt2),  // contractions are case-sensitive in GPT-2
            (std::vector<std::string>{"I", "'", "LL", " go"}));
  EXPECT_EQ(pieces("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87!", PreTokenizer::kGpt2),
            (std::vector<std::string>{"caf\xC3\xA9", " \xE4\xB8\xAD\xE6\x96\x87", "!"}));
  EXPECT_EQ(pieces("a \xF0\x9F\x98\x80\xF0\x9F\x98\x80 b", PreTokenizer::kGpt2),
            (std::vector<std::string>{"a", " \xF0\x9F\x98\x80\xF0\x9F\x98\x80", " b"}));
}

TEST(PreTokenizer, Llama3) {
  EXPECT_EQ(pieces("Hello world's 1234567 ok!\n\n  x", PreTokenizer::kLlama3),
            (std::vector<std::string>{"Hello", " world", "'s", " ", "123", "456", "7", " ok", "!\n\n", " ", " x"}));
  EXPECT_EQ(pieces("I'LL (go)", PreTokenizer::kLlama3),  // case-insensitive contractions
            (std::vector<std::string>{"I", "'LL", " (", "go", ")"}));
  EXPECT_EQ(pieces("a \n\n b", PreTokenizer::kLlama3),  // whitespace up to the last line break
            (std::vector<std::string>{"a", " \n\n", " b"}));
  EXPECT_EQ(pretokenizer_for("llama-bpe"), PreTokenizer::kLlama3);
  EXPECT_EQ(pretokenizer_for("gpt-2"), PreTokenizer::kGpt2);
  EXPECT_EQ(pretokenizer_for(""), PreTokenizer::kGpt2);
}

TEST(PreTokenizer, CoversEveryByte) {
  const std::string text = "x\xFF\xC3 y\xE4\xB8 \t\r\n 42";
  for (PreTokenizer f : {PreTokenizer::kGpt2, PreTokenizer::kLlama3}) {
    std::string joined;
    for (std::string_view p : pretokenize(text, f)) {
      EXPECT_FALSE(p.empty());
      joined += p;
    }
    EXPECT_EQ(joined, text);
  }
}

TEST(PreTokenizer, CharacterClasses) {
  EXPECT_EQ(unicode_class('a'), CharClass::kLetter);
  EXPECT_EQ(unicode_class(0xE9), CharClass::kLetter);     // é
  EXPECT_EQ(unicode_class(0x4E2D), CharClass::kLetter);   // 中
  EXPECT_EQ(unicode_class(0xD55C), CharClass::kLetter);   // 한
  EXPECT_EQ(unicode_class(0x3042), CharClass::kLetter);   // あ
  EXPECT_EQ(unicode_class('7'), CharClass::kNumber);
  EXPECT_EQ(unicode_class(0x0663), CharClass::kNumber);   // Arabic-Indic 3
  EXPECT_EQ(unicode_class(0xFF15), CharClass::kNumber);   // fullwidth 5
  EXPECT_EQ(unicode_class(0x3000), CharClass::kSpace);    // ideographic space
  EXPECT_EQ(unicode_class(0xA0), CharClass::kSpace);
  EXPECT_EQ(unicode_class(0x1F600), CharClass::kOther);   // emoji
  EXPECT_EQ(unicode_class(0x3002), CharClass::kOther);    // 。
  EXPECT_EQ(unicode_class(0x301), CharClass::kOther);     // combining acute
  EXPECT_EQ(unicode_class(0x2014), CharClass::kOther);    // em dash
  EXPECT_EQ(unicode_class(0x1D400), CharClass::kLetter);  // mathematical bold A (Lu)
  EXPECT_EQ(unicode_class(0x2160), CharClass::kNumber);   // Roman numeral one (Nl)
  EXPECT_EQ(unicode_class(0x10FFFF), CharClass::kOther);  // unassigned: neither letter nor number
}

TEST(BpeTokenizer, MergesByRank) {
  auto t = Tokenizer::create(byte_vocab(kMerges, "gpt-2"));
  ASSERT_TRUE(t.ok()) << t.status();
  const Tokenizer& tok = **t;
  EXPECT_EQ(tok.encode("the cat", false), (std::vector<int32_t>{'t', kHe, kSpaceCat}));
  EXPECT_EQ(tok.encode(" the", false), (std::vector<int32_t>{kSpaceThe}));
  EXPECT_EQ(tok.encode(" t", false), (std::vector<int32_t>{kSpaceT}));
  // "b c" (rank 6) outranks "a b" (rank 7) though "ab" is further left.
  EXPECT_EQ(tok.encode("abc", false), (std::vector<int32_t>{'a', kBc}));
  EXPECT_EQ(tok.piece(kSpaceThe), " the");
  EXPECT_EQ(tok.piece(tok.eos()), "");  // control
  EXPECT_TRUE(tok.is_end_of_generation(tok.eos()));
  EXPECT_FALSE(tok.adds_space_prefix());
}

TEST(BpeTokenizer, RoundTripsAnyBytes) {
  for (const char* pre : {"gpt-2", "llama-bpe"}) {
    auto t = Tokenizer::create(byte_vocab(kMerges, pre));
    ASSERT_TRUE(t.ok());
    for (const std::string text :
         {"the cat sat on the mat", " leading and trailing ", "new\nlines\r\n\n\ttabs",
          "caf\xC3\xA9 na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m", "\xE4\xB8\xAD\xE6\x96\x87 \xE6\x97\xA5\xE6\x9C\xAC",
          "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!", "invalid \xFF\xC3 bytes", "12345 678", ""}) {
      const std::vector<int32_t> ids = (*t)->encode(text, false);
      EXPECT_EQ((*t)->decode(ids), text) << pre << ": " << text;
    }
  }
}

TEST(BpeTokenizer, Llama3TakesWholeWordTokens) {
  // With ignore_merges (Llama 3), a word that is a token is used as is, even without a merge path.
  auto v = byte_vocab({{" ", "t"}}, "llama-bpe");
  v.tokens.push_back(mapped(" cat"));
  v.types.push_back(TokenType::kNormal);
  const int32_t cat = static_cast<int32_t>(v.tokens.size()) - 1;
  auto t = Tokenizer::create(v);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->encode(" cat", false), std::vector<int32_t>{cat});
  v.pre = "gpt-2";
  auto g = Tokenizer::create(v);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)->encode(" cat", false), (std::vector<int32_t>{' ', 'c', 'a', 't'}));
}

TEST(BpeTokenizer, StreamsMultiByteCharactersWhole) {
  auto t = Tokenizer::create(byte_vocab(kMerges, "gpt-2"));
  ASSERT_TRUE(t.ok());
  const std::string text = "a\xF0\x9F\x98\x80 \xE4\xB8\xAD";
  Detokenizer d(**t, false);
  std::vector<std::string> parts;
  for (int32_t id : (*t)->encode(text, false)) parts.push_back(d.push(id));
  // One token per byte: a, then 4 emoji bytes (3 held), space, 3 CJK bytes (2 held).
  ASSERT_EQ(parts.size(), 9u);
  EXPECT_EQ(parts[0], "a");
  EXPECT_EQ(parts[1] + parts[2] + parts[3], "");
  EXPECT_EQ(parts[4], "\xF0\x9F\x98\x80");
  EXPECT_EQ(parts[6] + parts[7], "");
  EXPECT_EQ(parts[8], "\xE4\xB8\xAD");
  EXPECT_EQ(d.finish(), "");
}

}  // namespace
}  // namespace quantd::llm
