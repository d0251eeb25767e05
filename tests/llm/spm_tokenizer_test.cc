// SentencePiece BPE: a hand-built vocabulary for the merge rules, and stories260K's vocabulary
// against the ids llama.cpp / llama2.c give.
#include "server/llm/spm_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "server/llm/tokenizer.h"
#include "tests/llm/known_answers.h"
#include "tests/llm/test_util.h"

namespace quantd::llm {
namespace {

// <unk>, <s>, </s>, the 256 byte tokens, then the given pieces.
Vocabulary small_vocab(const std::vector<std::pair<std::string, float>>& pieces) {
  Vocabulary v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.scores = {0, 0, 0};
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    v.tokens.push_back(name);
    v.scores.push_back(0);
    v.types.push_back(TokenType::kByte);
  }
  for (const auto& [p, s] : pieces) {
    v.tokens.push_back(p);
    v.scores.push_back(s);
    v.types.push_back(TokenType::kNormal);
  }
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  return v;
}

constexpr int32_t kFirstPiece = 259;

TEST(SpmTokenizer, MergesHighestScoreFirst) {
  // "▁abc": of the pairs ▁a (-1), ab (-0.1) and bc (-0.5), ab scores highest and merges first;
  // that leaves ▁a and bc stale, and ▁ab (-2) merges next; c stays alone.
  auto t = Tokenizer::create(small_vocab({{"\xE2\x96\x81", -5},       // 259 ▁
                                          {"a", -5},                 // 260
                                          {"b", -5},                 // 261
                                          {"c", -5},                 // 262
                                          {"\xE2\x96\x81" "a", -1},  // 263 ▁a
                                          {"bc", -0.5},              // 264
                                          {"ab", -0.1},              // 265
                                          {"\xE2\x96\x81" "ab", -2}}));  // 266 ▁ab
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->encode("abc", false), (std::vector<int32_t>{266, 262}));
  EXPECT_EQ((*t)->encode("abc", true), (std::vector<int32_t>{1, 266, 262}));
  // Equal scores: the leftmost pair merges first ("aa" at 0, then "aa" at 2).
  Vocabulary v = small_vocab({{"a", -5}, {"aa", -1}});
  v.add_space_prefix = false;
  auto t3 = Tokenizer::create(v);
  ASSERT_TRUE(t3.ok());
  EXPECT_EQ((*t3)->encode("aaa", false), (std::vector<int32_t>{kFirstPiece + 1, kFirstPiece}));
}

TEST(SpmTokenizer, ByteFallbackAndDecode) {
  auto t = Tokenizer::create(small_vocab({{"\xE2\x96\x81", -5}, {"h", -5}, {"i", -5}, {"\xE2\x96\x81" "hi", -1},
                                          {"hi", -1}}));
  ASSERT_TRUE(t.ok());
  const Tokenizer& tok = **t;
  // é is not a piece: its two bytes come out as <0xC3> <0xA9> (ids 3 + byte).
  EXPECT_EQ(tok.encode("hi \xC3\xA9", false),
            (std::vector<int32_t>{kFirstPiece + 3, kFirstPiece, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok.piece(3 + 0xC3), "\xC3");
  EXPECT_EQ(tok.piece(kFirstPiece + 3), " hi");
  EXPECT_EQ(tok.piece(1), "");             // control
  EXPECT_EQ(tok.piece(0), "\xE2\x96\x85");  // <unk> as llama.cpp prints it
  EXPECT_EQ(tok.piece(-1), "");
  EXPECT_EQ(tok.piece(100000), "");
  EXPECT_EQ(tok.decode(tok.encode("hi \xC3\xA9", true)), "hi \xC3\xA9");
  EXPECT_TRUE(tok.encode("", false).empty());
  EXPECT_EQ(tok.encode("", true), std::vector<int32_t>{1});
}

TEST(SpmTokenizer, RejectsBadVocabularies) {
  Vocabulary v = small_vocab({});
  v.scores.pop_back();
  EXPECT_EQ(Tokenizer::create(v).status().code(), absl::StatusCode::kInvalidArgument);
  v = small_vocab({});
  v.bos = 100000;
  EXPECT_EQ(Tokenizer::create(v).status().code(), absl::StatusCode::kInvalidArgument);
  v = small_vocab({});
  v.model = "t5";
  EXPECT_EQ(Tokenizer::create(v).status().code(), absl::StatusCode::kUnimplemented);
  v = Vocabulary{};
  v.model = "llama";
  EXPECT_EQ(Tokenizer::create(v).status().code(), absl::StatusCode::kInvalidArgument);
}

class Stories260KTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = testing::load_model("stories260K.gguf");
    if (model_ != nullptr) tokenizer_ = testing::load_tokenizer(*model_).release();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
    model_.reset();
  }
  static std::shared_ptr<const model::Model> model_;
  static const Tokenizer* tokenizer_;
};
std::shared_ptr<const model::Model> Stories260KTokenizer::model_;
const Tokenizer* Stories260KTokenizer::tokenizer_ = nullptr;

TEST_F(Stories260KTokenizer, VocabularyFromGguf) {
  ASSERT_NE(tokenizer_, nullptr);
  const Vocabulary& v = tokenizer_->vocabulary();
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(tokenizer_->n_vocab(), 512);
  EXPECT_EQ(tokenizer_->bos(), 1);
  EXPECT_EQ(tokenizer_->eos(), 2);
  EXPECT_EQ(v.unk, 0);
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
  EXPECT_EQ(tokenizer_->type(0), TokenType::kUnknown);
  EXPECT_EQ(tokenizer_->type(1), TokenType::kControl);
  EXPECT_EQ(tokenizer_->type(3), TokenType::kByte);
  EXPECT_EQ(tokenizer_->type(300), TokenType::kNormal);
  EXPECT_TRUE(tokenizer_->is_end_of_generation(2));
  EXPECT_FALSE(tokenizer_->is_end_of_generation(1));
}

TEST_F(Stories260KTokenizer, OnceUponATime) {
  ASSERT_NE(tokenizer_, nullptr);
  // Checked by hand in the vocabulary: 403 "▁Once" (score -144), 407 "▁upon" (-148),
  // 261 "▁a" (-2), 378 "▁time" (-119); llama2.c's encoder gives the same ids (known_answers.h).
  const std::vector<int32_t> ids = tokenizer_->encode("Once upon a time", true);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  const Vocabulary& v = tokenizer_->vocabulary();
  EXPECT_EQ(v.tokens[403], "\xE2\x96\x81" "Once");
  EXPECT_EQ(v.tokens[407], "\xE2\x96\x81" "upon");
  EXPECT_EQ(v.tokens[261], "\xE2\x96\x81" "a");
  EXPECT_EQ(v.tokens[378], "\xE2\x96\x81" "time");
  EXPECT_EQ(tokenizer_->decode(ids), "Once upon a time");
  // A newline has no piece: byte fallback to <0x0A> (id 3 + 10), as in the greedy story.
  const std::vector<int32_t> nl = tokenizer_->encode("high.\nLily", false);
  EXPECT_NE(std::find(nl.begin(), nl.end(), 13), nl.end());
  EXPECT_EQ(tokenizer_->piece(13), "\n");
}

TEST_F(Stories260KTokenizer, SameIdsAsLlama2cEncoder) {
  ASSERT_NE(tokenizer_, nullptr);
  // llama2.c's encode() (run.c, same merge-by-score algorithm and dummy prefix space) on
  // tok512.bin, which holds this GGUF's pieces and scores: its output, recorded here.
  const std::vector<std::pair<std::string, std::vector<int32_t>>> cases = {
      {"Once upon a time",
       {1, 403, 407, 261, 378}},
      {"Once upon a time, there was a little girl named Lily.",
       {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426}},
      {"The cat sat on the mat. It was happy!",
       {1, 291, 280, 294, 262, 294, 353, 265, 284, 294, 426, 359, 413, 286, 393, 443}},
      {"Tom and Sue went to the park to play with a big red ball.\nThey had fun.",
       {1, 274, 287, 269, 301, 425, 411, 263, 377, 267, 265, 282, 295, 433, 267, 337, 335, 261, 370,
        352, 266, 268, 388, 426, 13, 434, 260, 422, 381, 272, 379, 426}},
      {"  two leading spaces",
       {1, 410, 410, 259, 424, 414, 278, 411, 380, 299, 262, 427, 412, 331, 419}},
      {"She said, \"I'm sorry, mom. I didn't know what to do.\"",
       {1, 338, 336, 432, 313, 442, 439, 423, 262, 304, 420, 422, 432, 357, 426, 359, 279, 292, 416,
        439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 436}},
      {"123 abc XYZ !@# $%^ &*() qwertyuiop",
       {1, 410, 475, 479, 472, 261, 430, 429, 410, 478, 452, 469, 410, 443, 67, 38, 410, 494, 501, 97,
        410, 499, 497, 489, 488, 410, 456, 424, 285, 413, 422, 425, 417, 414, 427}},
      {"Lily's mom said, \"Lily, let's go to the park.\"",
       {1, 317, 439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267, 265,
        282, 295, 433, 426, 436}},
      {"a",
       {1, 261}},
      {"hello   world   multiple   spaces",
       {1, 281, 306, 414, 410, 410, 263, 304, 341, 410, 410, 284, 425, 421, 413, 417, 427, 305, 410,
        410, 262, 427, 412, 331, 419}},
  };
  for (const auto& [text, ids] : cases) EXPECT_EQ(tokenizer_->encode(text, true), ids) << text;
}

TEST_F(Stories260KTokenizer, RoundTripsAnyUtf8) {
  ASSERT_NE(tokenizer_, nullptr);
  const std::vector<std::string> texts = {
      "Once upon a time, there was a little girl named Lily.",
      "  two leading spaces, trailing too  ",
      "tabs\tand\nnew\n\nlines\r\n",
      "accents: caf\xC3\xA9 na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m",
      "CJK: \xE4\xB8\xAD\xE6\x96\x87 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
      "emoji: \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xE2\x9D\xA4\xEF\xB8\x8F",
      "<s> is plain text here </s>",
      "x",
      "",
      "12345 + 678 = 999?!",
  };
  for (const std::string& text : texts) {
    const std::vector<int32_t> ids = tokenizer_->encode(text, true);
    EXPECT_EQ(tokenizer_->decode(ids), text) << text;
    for (int32_t id : ids) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, 512);
    }
    // Only the leading BOS is a control token: "<s>" in the text stays text.
    for (size_t i = 1; i < ids.size(); ++i) EXPECT_NE(tokenizer_->type(ids[i]), TokenType::kControl);
  }
}

TEST_F(Stories260KTokenizer, StreamingDetokenizerMatchesLlama2c) {
  ASSERT_NE(tokenizer_, nullptr);
  Detokenizer detok(*tokenizer_, /*strip_leading_space=*/true);
  std::string text;
  for (int32_t id : testing::kGreedyFromBos) text += detok.push(id);
  text += detok.finish();
  EXPECT_EQ(text, testing::kGreedyFromBosText);
}

TEST_F(Stories260KTokenizer, StreamingNeverSplitsACharacter) {
  ASSERT_NE(tokenizer_, nullptr);
  // CJK and emoji go through byte fallback: one token per byte. No output may end mid-character.
  const std::string text = "\xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 ok";
  const std::vector<int32_t> ids = tokenizer_->encode(text, false);
  Detokenizer detok(*tokenizer_, true);
  std::string out;
  int empty_pushes = 0;
  for (int32_t id : ids) {
    const std::string part = detok.push(id);
    if (part.empty()) ++empty_pushes;
    EXPECT_EQ(Utf8Stream().push(part), part) << "released invalid UTF-8";
    out += part;
  }
  out += detok.finish();
  EXPECT_EQ(out, text);
  EXPECT_GE(empty_pushes, 2 + 2 + 3);  // the bytes held back inside the three characters
}

}  // namespace
}  // namespace quantd::llm
