// The synthetic generator: a small configuration loads as a Llama model with the right shapes
// and types, is deterministic in its seed (and not in its thread count), and is well scaled.
#include <cmath>
#include <set>

#include "gtest/gtest.h"
#include "quantd/kernels/kernels.h"
#include "server/model/model.h"
#include "server/model/synthetic.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

using kernels::Format;

SyntheticConfig small(Format type) {
  SyntheticConfig c;
  c.dim = 128;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = 2;
  c.ffn = 96;
  c.vocab = 300;
  c.context = 256;
  c.type = type;
  c.seed = 42;
  c.threads = 2;
  return c;
}

TEST(Synthetic, SmallConfigLoadsWithTheRightShapes) {
  const std::string path = testing::temp_path("synthetic.gguf");
  ASSERT_TRUE(write_synthetic_gguf(small(Format::kQ8_0), path).ok());
  auto loaded = Model::load("syn", path, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Model& m = **loaded;
  const LlamaConfig& p = m.params();
  EXPECT_EQ(p.n_embd, 128);
  EXPECT_EQ(p.n_layer, 2);
  EXPECT_EQ(p.n_head, 4);
  EXPECT_EQ(p.n_head_kv, 2);
  EXPECT_EQ(p.n_ff, 96);
  EXPECT_EQ(p.n_vocab, 300);
  EXPECT_EQ(p.n_ctx_train, 256);
  EXPECT_EQ(p.n_rot, 32);
  EXPECT_EQ(m.tensors().size(), 3u + 2 * 9);
  EXPECT_EQ(m.tensor("blk.1.attn_k.weight")->ne, (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(m.tensor("blk.1.ffn_down.weight")->ne, (std::vector<int64_t>{96, 128}));
  EXPECT_EQ(m.tensor("token_embd.weight")->ne, (std::vector<int64_t>{128, 300}));
  for (const ModelTensor& t : m.tensors()) {
    EXPECT_EQ(t.format, t.ne.size() == 1 ? Format::kF32 : Format::kQ8_0) << t.name;
  }
  const auto* norm = reinterpret_cast<const float*>(m.tensor("output_norm.weight")->data);
  EXPECT_EQ(norm[0], 1.0f);
  EXPECT_EQ(norm[127], 1.0f);
  // Weights ~ N(0, 0.02^2).
  const ModelTensor* q = m.tensor("blk.0.attn_q.weight");
  std::vector<float> x(q->ne[0] * q->rows());
  for (int64_t r = 0; r < q->rows(); ++r) {
    kernels::kernels()[Format::kQ8_0].dequantize_row(q->data + r * 4 * 34, x.data() + r * 128, 128);
  }
  double sum = 0, sq = 0;
  for (float v : x) {
    sum += v;
    sq += double{v} * v;
  }
  const double mean = sum / x.size(), sd = std::sqrt(sq / x.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(sd, 0.02, 0.001);
  // Vocabulary.
  const GgufArray* tokens = *m.gguf().get_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens->values.size(), 300u);
  EXPECT_EQ(std::get<std::string>(tokens->values[3].value), "<0x00>");
  EXPECT_EQ(std::get<std::string>(tokens->values[259].value), "\xe2\x96\x81");
  std::remove(path.c_str());
}

TEST(Synthetic, SeededAndThreadIndependent) {
  const std::string a = testing::temp_path("a.gguf"), b = testing::temp_path("b.gguf"),
                    c = testing::temp_path("c.gguf");
  SyntheticConfig config = small(Format::kQ4_0);
  ASSERT_TRUE(write_synthetic_gguf(config, a).ok());
  config.threads = 1;
  ASSERT_TRUE(write_synthetic_gguf(config, b).ok());
  config.seed = 43;
  ASSERT_TRUE(write_synthetic_gguf(config, c).ok());
  EXPECT_TRUE(testing::read_bytes(a) == testing::read_bytes(b));
  EXPECT_FALSE(testing::read_bytes(a) == testing::read_bytes(c));
  for (const auto& p : {a, b, c}) std::remove(p.c_str());
}

TEST(Synthetic, RaggedRowsFallBackToF16) {
  SyntheticConfig config = small(Format::kQ5_1);
  config.ffn = 100;  // ffn_down rows are 100 wide: not a multiple of 32
  const std::string path = testing::temp_path("ragged.gguf");
  ASSERT_TRUE(write_synthetic_gguf(config, path).ok());
  auto loaded = Model::load("r", path, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->tensor("blk.0.ffn_down.weight")->format, Format::kF16);
  EXPECT_EQ((*loaded)->tensor("blk.0.ffn_up.weight")->format, Format::kQ5_1);
  std::remove(path.c_str());
}

TEST(Synthetic, VocabularyPiecesAreUniqueAndPrefixClosed) {
  std::set<std::string> seen;
  for (int64_t i = 0; i < 32000; ++i) EXPECT_TRUE(seen.insert(synthetic_token(i)).second) << i;
  for (int64_t i = 259 + 27; i < 32000; ++i) {
    const std::string p = synthetic_token(i);
    // Drop the last symbol (1 byte, or 3 for U+2581): the prefix is a piece too.
    const size_t cut = p.size() >= 3 && p.compare(p.size() - 3, 3, "\xe2\x96\x81") == 0 ? 3 : 1;
    EXPECT_TRUE(seen.count(p.substr(0, p.size() - cut))) << p;
  }
}

TEST(Synthetic, RejectsBadConfigs) {
  SyntheticConfig c = small(Format::kQ8_0);
  c.heads = 3;
  EXPECT_TRUE(absl::IsInvalidArgument(validate_synthetic_config(c)));
  c = small(Format::kQ8_0);
  c.kv_heads = 3;
  EXPECT_TRUE(absl::IsInvalidArgument(validate_synthetic_config(c)));
  c = small(Format::kQ8_0);
  c.vocab = 258;
  EXPECT_TRUE(absl::IsInvalidArgument(validate_synthetic_config(c)));
  c = small(Format::kQ8_1);
  EXPECT_TRUE(absl::IsInvalidArgument(validate_synthetic_config(c)));
}

}  // namespace
}  // namespace quantd::model
