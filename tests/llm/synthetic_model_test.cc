// A synthetic model (random weights, written by quantd_model's generator) large enough that
// every matrix product and the attention run multi-threaded: thread-count independence and
// batch-equals-decode on a second shape (head size 32, four query heads per KV head), for
// several weight formats.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "server/llm/llama.h"
#include "server/llm/session.h"
#include "server/model/model.h"
#include "server/model/synthetic.h"

namespace quantd::llm {
namespace {

class SyntheticModel : public ::testing::TestWithParam<kernels::Format> {
 protected:
  void SetUp() override {
    model::SyntheticConfig c;
    c.dim = 256;
    c.layers = 2;
    c.heads = 8;
    c.kv_heads = 2;
    c.ffn = 512;
    c.vocab = 600;
    c.context = 128;
    c.type = GetParam();
    c.seed = 11;
    c.threads = 1;
    const std::string path = ::testing::TempDir() + "/quantd_llm_synthetic_" +
                             std::string(kernels::find_format(c.type)->name) + ".gguf";
    ASSERT_TRUE(model::write_synthetic_gguf(c, path).ok());
    auto m = model::Model::load("synthetic", path, {});
    ASSERT_TRUE(m.ok()) << m.status();
    auto l = Llama::create(*m);
    ASSERT_TRUE(l.ok()) << l.status();
    llama_ = *l;
  }

  // Logits after a 48-token prefill and 16 decode steps, concatenated.
  std::vector<float> run(int threads, bool batch) {
    auto s = llama_->new_session(0);
    EXPECT_TRUE(s.ok());
    std::vector<int32_t> prompt(48);
    for (int i = 0; i < 48; ++i) prompt[i] = (7 + 31 * i) % 600;
    if (batch) {
      EXPECT_TRUE((*s)->prefill(prompt, threads).ok());
    } else {
      for (int32_t t : prompt) EXPECT_TRUE((*s)->decode(t, threads).ok());
    }
    std::vector<float> all = (*s)->logits();
    for (int i = 0; i < 16; ++i) {
      EXPECT_TRUE((*s)->decode((100 + 13 * i) % 600, threads).ok());
      all.insert(all.end(), (*s)->logits().begin(), (*s)->logits().end());
    }
    return all;
  }

  std::shared_ptr<const Llama> llama_;
};

TEST_P(SyntheticModel, ThreadCountDoesNotChangeLogits) {
  EXPECT_EQ(llama_->config().head_dim(), 32);
  EXPECT_EQ(llama_->layers()[1].wq.format, GetParam());
  const std::vector<float> one = run(1, true);
  for (int threads : {2, 3}) {
    const std::vector<float> many = run(threads, true);
    ASSERT_EQ(many.size(), one.size());
    EXPECT_EQ(std::memcmp(many.data(), one.data(), one.size() * sizeof(float)), 0) << threads << " threads";
  }
  for (float v : one) ASSERT_TRUE(std::isfinite(v));
}

TEST_P(SyntheticModel, PrefillEqualsTokenByTokenDecode) {
  const std::vector<float> batch = run(2, true);
  const std::vector<float> step = run(2, false);
  ASSERT_EQ(batch.size(), step.size());
  float max_diff = 0.0f;
  for (size_t i = 0; i < batch.size(); ++i) max_diff = std::max(max_diff, std::fabs(batch[i] - step[i]));
  EXPECT_LE(max_diff, 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(Formats, SyntheticModel,
                         ::testing::Values(kernels::Format::kQ4_0, kernels::Format::kQ8_0, kernels::Format::kQ5_1,
                                           kernels::Format::kF16),
                         [](const auto& info) { return std::string(kernels::find_format(info.param)->name); });

}  // namespace
}  // namespace quantd::llm
