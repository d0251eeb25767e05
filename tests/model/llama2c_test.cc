// llama2.c conversion: stories260K.bin + tok512.bin give stories260K.gguf's tensors bit for
// bit (no Q/K permutation: both sides rotate adjacent pairs) and its vocabulary, and with the
// same context length and name, the very same file.
#include "gtest/gtest.h"
#include "server/model/gguf.h"
#include "server/model/llama2c.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

using testing::model_path;

TEST(Llama2c, TensorsEqualTheGgufBitForBit) {
  auto converted = convert_llama2c(model_path("stories260K.bin"), model_path("tok512.bin"));
  ASSERT_TRUE(converted.ok()) << converted.status();
  const Llama2cConfig& c = (*converted)->config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.seq_len, 512);
  EXPECT_TRUE(c.shared_classifier);

  const std::string path = testing::temp_path("stories260K_from_llama2c.gguf");
  ASSERT_TRUE(write_gguf(path, (*converted)->spec).ok());
  auto ours = GgufFile::open(path);
  auto theirs = GgufFile::open(model_path("stories260K.gguf"));
  ASSERT_TRUE(ours.ok() && theirs.ok());
  ASSERT_EQ((*ours)->tensors().size(), 48u);
  int compared = 0;
  for (const GgufTensor& t : (*theirs)->tensors()) {
    const GgufTensor* o = (*ours)->find_tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->ne, t.ne) << t.name;
    EXPECT_EQ(o->ggml_type, t.ggml_type) << t.name;
    ASSERT_EQ(o->bytes, t.bytes) << t.name;
    EXPECT_EQ(0, std::memcmp(o->data, t.data, t.bytes)) << t.name;
    ++compared;
  }
  EXPECT_EQ(compared, 48);
  // Vocabulary: pieces mapped back to SentencePiece form, scores and types as in the GGUF.
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"}) {
    EXPECT_TRUE(testing::same_value((*ours)->metadata().at(key), (*theirs)->metadata().at(key))) << key;
  }
  EXPECT_EQ(*(*ours)->get_uint("llama.context_length"), 512u);  // the checkpoint's seq_len
  std::remove(path.c_str());
}

TEST(Llama2c, ReproducesTheLlamaCppFile) {
  Llama2cOptions options;
  options.context_length = 2048;
  const std::string path = testing::temp_path("stories260K_same.gguf");
  ASSERT_TRUE(convert_llama2c_file(model_path("stories260K.bin"), model_path("tok512.bin"), path, options).ok());
  EXPECT_TRUE(testing::read_bytes(path) == testing::read_bytes(model_path("stories260K.gguf")));
  std::remove(path.c_str());
}

TEST(Llama2c, RejectsDamagedInputs) {
  const std::vector<uint8_t> bin = testing::read_bytes(model_path("stories260K.bin"));
  const std::string path = testing::temp_path("damaged.bin");

  std::vector<uint8_t> cut(bin.begin(), bin.end() - 4);
  testing::write_bytes(path, cut);
  absl::Status s = convert_llama2c(path, model_path("tok512.bin")).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("1056536 bytes, but the header"), std::string::npos) << s;
  EXPECT_NE(s.message().find("implies 1056540"), std::string::npos) << s;

  std::vector<uint8_t> bad = bin;
  const int32_t zero_heads = 0;
  std::memcpy(bad.data() + 12, &zero_heads, 4);
  testing::write_bytes(path, bad);
  s = convert_llama2c(path, model_path("tok512.bin")).status();
  EXPECT_NE(s.message().find("header field n_heads at offset 12 = 0 is outside"), std::string::npos) << s;

  testing::write_bytes(path, {1, 2});
  EXPECT_TRUE(absl::IsInvalidArgument(convert_llama2c(path, model_path("tok512.bin")).status()));

  // A tokenizer with one token too few.
  const std::vector<uint8_t> tok = testing::read_bytes(model_path("tok512.bin"));
  testing::write_bytes(path, std::vector<uint8_t>(tok.begin(), tok.end() - 3));
  s = convert_llama2c(model_path("stories260K.bin"), path).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("token 511"), std::string::npos) << s;
  EXPECT_TRUE(absl::IsNotFound(convert_llama2c("/nonexistent.bin", model_path("tok512.bin")).status()));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace quantd::model
