// UTF-8 validation and the streaming guard that keeps half characters out of the output.
#include "server/llm/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace quantd::llm {
namespace {

TEST(Utf8, SequenceLengths) {
  EXPECT_EQ(utf8_sequence_length('a'), 1);
  EXPECT_EQ(utf8_sequence_length(0x80), 0);  // continuation
  EXPECT_EQ(utf8_sequence_length(0xC1), 0);  // overlong lead
  EXPECT_EQ(utf8_sequence_length(0xC3), 2);
  EXPECT_EQ(utf8_sequence_length(0xE4), 3);
  EXPECT_EQ(utf8_sequence_length(0xF0), 4);
  EXPECT_EQ(utf8_sequence_length(0xF5), 0);  // beyond U+10FFFF
}

TEST(Utf8, ValidPrefixRejectsMalformed) {
  bool incomplete = false;
  EXPECT_EQ(utf8_valid_prefix("\xC3\xA9x"), 2);
  EXPECT_EQ(utf8_valid_prefix("\xE2\x82\xAC"), 3);              // U+20AC
  EXPECT_EQ(utf8_valid_prefix("\xF0\x9F\x98\x80"), 4);          // U+1F600
  EXPECT_EQ(utf8_valid_prefix("\xC0\x80"), 0);                  // overlong NUL
  EXPECT_EQ(utf8_valid_prefix("\xE0\x80\x80"), 0);              // overlong
  EXPECT_EQ(utf8_valid_prefix("\xED\xA0\x80"), 0);              // surrogate U+D800
  EXPECT_EQ(utf8_valid_prefix("\xF4\x90\x80\x80"), 0);          // U+110000
  EXPECT_EQ(utf8_valid_prefix("\xC3x", &incomplete), 0);        // bad continuation
  EXPECT_FALSE(incomplete);
  EXPECT_EQ(utf8_valid_prefix("\xF0\x9F\x98", &incomplete), 0);  // could still be finished
  EXPECT_TRUE(incomplete);
}

TEST(Utf8, EncodeDecodeRoundTrip) {
  for (uint32_t cp : {0x24u, 0xA2u, 0x939u, 0x20ACu, 0xD55Cu, 0xFFFDu, 0x10348u, 0x1F600u, 0x10FFFFu}) {
    std::string s;
    append_utf8(cp, &s);
    size_t pos = 0;
    EXPECT_EQ(next_code_point(s, &pos), cp);
    EXPECT_EQ(pos, s.size());
  }
  size_t pos = 0;
  EXPECT_EQ(next_code_point("\xFF", &pos), 0xFFFDu);  // invalid bytes advance by one
  EXPECT_EQ(pos, 1u);
}

TEST(Utf8, SplitKeepsEveryByte) {
  const std::string s = "a\xC3\xA9\xFF\xE4\xB8\xAD";
  auto parts = split_utf8(s);
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0], "a");
  EXPECT_EQ(parts[1], "\xC3\xA9");
  EXPECT_EQ(parts[2], "\xFF");
  EXPECT_EQ(parts[3], "\xE4\xB8\xAD");
}

TEST(Utf8Stream, HoldsIncompleteCharacters) {
  Utf8Stream stream;
  const std::string emoji = "\xF0\x9F\x98\x80";
  EXPECT_EQ(stream.push("ok "), "ok ");
  EXPECT_EQ(stream.push(emoji.substr(0, 1)), "");
  EXPECT_EQ(stream.push(emoji.substr(1, 2)), "");
  EXPECT_EQ(stream.pending_bytes(), 3u);
  EXPECT_EQ(stream.push(emoji.substr(3) + "!"), emoji + "!");
  EXPECT_EQ(stream.pending_bytes(), 0u);
  EXPECT_EQ(stream.flush(), "");
}

TEST(Utf8Stream, ReplacesBytesThatCanNeverBeText) {
  Utf8Stream stream;
  EXPECT_EQ(stream.push("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  // A lead byte followed by a non-continuation: the lead is replaced, the rest kept.
  EXPECT_EQ(stream.push("\xC3" "c"), "\xEF\xBF\xBD" "c");
  // An unfinished character at the end of the stream.
  EXPECT_EQ(stream.push("\xE4\xB8"), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace quantd::llm
