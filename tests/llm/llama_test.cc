// The forward pass on stories260K (F32): llama2.c's greedy known answer, batch prefill against
// token-by-token decode, thread-count independence, the KV cache budget and its errors, and
// model validation.
#include "server/llm/llama.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "server/llm/sampler.h"
#include "server/llm/session.h"
#include "server/llm/tokenizer.h"
#include "tests/llm/known_answers.h"
#include "tests/llm/test_util.h"

namespace quantd::llm {
namespace {

class Stories260K : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { llama_ = testing::load_llama("stories260K.gguf"); }
  static void TearDownTestSuite() { llama_.reset(); }
  void SetUp() override { ASSERT_NE(llama_, nullptr); }

  static std::unique_ptr<Session> session(int64_t max_ctx = 0) {
    auto s = llama_->new_session(max_ctx);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  // n greedy tokens after feeding the prompt as one batch.
  static std::vector<int32_t> greedy(Session& s, const std::vector<int32_t>& prompt, int n, int threads = 1) {
    EXPECT_TRUE(s.prefill(prompt, threads).ok());
    auto sampler = Sampler::create(SamplerConfig{.temperature = 0.0f}, llama_->config().n_vocab);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
      const int32_t next = sampler->sample(s.logits());
      out.push_back(next);
      if (i + 1 < n) {
        EXPECT_TRUE(s.decode(next, threads).ok());
      }
    }
    return out;
  }

  static std::shared_ptr<const Llama> llama_;
};
std::shared_ptr<const Llama> Stories260K::llama_;

TEST_F(Stories260K, Config) {
  const model::LlamaConfig& c = llama_->config();
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(c.n_embd, 64);
  EXPECT_EQ(c.n_layer, 5);
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_head_kv, 4);
  EXPECT_EQ(c.head_dim(), 8);
  EXPECT_EQ(c.n_ff, 172);
  EXPECT_EQ(c.n_rot, 8);
  EXPECT_EQ(c.n_ctx_train, 2048);
  EXPECT_FLOAT_EQ(c.rope_freq_base, 10000.0f);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
  EXPECT_FALSE(llama_->tied_output());  // the file stores output.weight (equal to token_embd)
  // Per token: 5 layers x (64x64 x 2 + 64x32 x 2 + 64x172 x 3) + output 64x512 + one embedding
  // row + 11 norms, all F32.
  const uint64_t per_layer = (64 * 64 * 2 + 64 * 32 * 2 + 64 * 172 * 3) * 4;
  EXPECT_EQ(llama_->weight_bytes_per_token(), 5 * per_layer + 64 * 512 * 4 + 64 * 4 + 11 * 64 * 4);
}

TEST_F(Stories260K, GreedyMatchesLlama2cFromBos) {
  auto s = session();
  ASSERT_NE(s, nullptr);
  const int n = static_cast<int>(std::size(testing::kGreedyFromBos));
  const std::vector<int32_t> got = greedy(*s, {1}, n);
  const std::vector<int32_t> want(std::begin(testing::kGreedyFromBos), std::end(testing::kGreedyFromBos));
  EXPECT_EQ(got, want);
  // And the text, through the tokenizer and the streaming detokenizer.
  auto tok = testing::load_tokenizer(llama_->model());
  ASSERT_NE(tok, nullptr);
  Detokenizer d(*tok, true);
  std::string text;
  for (int i = 0; i < n; ++i) text += d.push(got[i]);
  EXPECT_EQ(text + d.finish(), testing::kGreedyFromBosText);
}

TEST_F(Stories260K, GreedyMatchesLlama2cAfterPrompt) {
  auto tok = testing::load_tokenizer(llama_->model());
  ASSERT_NE(tok, nullptr);
  const std::vector<int32_t> prompt = tok->encode("Once upon a time", true);
  ASSERT_EQ(prompt, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  auto s = session(256);
  ASSERT_NE(s, nullptr);
  const int n = static_cast<int>(std::size(testing::kGreedyAfterPrompt));
  const std::vector<int32_t> got = greedy(*s, prompt, n);
  EXPECT_EQ(got, std::vector<int32_t>(std::begin(testing::kGreedyAfterPrompt), std::end(testing::kGreedyAfterPrompt)));
  EXPECT_EQ(s->position(), 5 + n - 1);  // the last sampled token is not fed back
}

// Greedy tokens from BOS as the prompt, to use as a realistic token stream.
std::vector<int32_t> story(int n) {
  std::vector<int32_t> t = {1};
  t.insert(t.end(), std::begin(testing::kGreedyFromBos), std::begin(testing::kGreedyFromBos) + (n - 1));
  return t;
}

TEST_F(Stories260K, PrefillEqualsTokenByTokenDecode) {
  for (int n : {2, 7, 64, 300}) {  // 300 spans two prefill chunks of 256
    std::vector<int32_t> tokens = story(std::min<int>(n, 200));
    while (static_cast<int>(tokens.size()) < n) tokens.push_back(tokens[tokens.size() % 150 + 1]);
    auto batch = session();
    auto step = session();
    ASSERT_TRUE(batch->prefill(tokens, 1).ok());
    for (int32_t t : tokens) ASSERT_TRUE(step->decode(t, 1).ok());
    ASSERT_EQ(batch->position(), n);
    ASSERT_EQ(step->position(), n);
    float max_diff = 0.0f;
    for (size_t i = 0; i < batch->logits().size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(batch->logits()[i] - step->logits()[i]));
    }
    // Same kernels, same per-row dot products and the same attention order: the batch path
    // reproduces decode exactly; 1e-5 leaves room for a future blocked GEMM.
    EXPECT_LE(max_diff, 1e-5f) << n << " tokens";
    std::printf("[ prefill %d tokens ] max |batch - token by token| logit difference: %g\n", n, max_diff);
    // The caches agree too: continuing both with the same token gives the same logits.
    ASSERT_TRUE(batch->decode(42, 1).ok());
    ASSERT_TRUE(step->decode(42, 1).ok());
    for (size_t i = 0; i < batch->logits().size(); ++i) EXPECT_NEAR(batch->logits()[i], step->logits()[i], 1e-5f);
  }
}

TEST_F(Stories260K, ThreadCountDoesNotChangeLogits) {
  const std::vector<int32_t> prompt = story(40);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    auto s = session();
    ASSERT_TRUE(s->prefill(prompt, threads).ok());
    std::vector<float> all = s->logits();
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(s->decode(testing::kGreedyFromBos[40 + i], threads).ok());
      all.insert(all.end(), s->logits().begin(), s->logits().end());
    }
    runs.push_back(all);
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    EXPECT_EQ(std::memcmp(runs[r].data(), runs[0].data(), runs[0].size() * sizeof(float)), 0)
        << "threads run " << r << " differs from 1 thread";
  }
}

TEST_F(Stories260K, KvCacheBudget) {
  const model::LlamaConfig& c = llama_->config();
  for (int64_t ctx : {1, 100, 2048}) {
    auto s = session(ctx);
    EXPECT_EQ(s->max_ctx(), ctx);
    EXPECT_EQ(s->kv_cache_bytes(), 2 * c.n_layer * ctx * c.n_head_kv * c.head_dim() * 4);
  }
  EXPECT_EQ(session(100)->kv_cache_bytes(), 2 * 5 * 100 * 4 * 8 * 4);
  EXPECT_EQ(session(0)->max_ctx(), 2048);      // default: the trained context
  EXPECT_EQ(session(100000)->max_ctx(), 2048);  // capped at it
  auto s = session(16);
  EXPECT_EQ(s->scratch_bytes(), 512 * 4);  // only logits before the first batch
  ASSERT_TRUE(s->prefill(story(10), 1).ok());
  EXPECT_GT(s->scratch_bytes(), 512 * 4);
}

TEST_F(Stories260K, ContextOverflowIsOutOfRange) {
  auto s = session(8);
  ASSERT_TRUE(s->prefill(story(5), 1).ok());
  const std::vector<float> before = s->logits();
  const absl::Status too_long = s->prefill(story(4), 1);
  EXPECT_EQ(too_long.code(), absl::StatusCode::kOutOfRange) << too_long;
  EXPECT_NE(too_long.message().find("8"), std::string::npos);
  EXPECT_EQ(s->position(), 5);  // unchanged
  EXPECT_EQ(s->logits(), before);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(s->decode(300, 1).ok());
  EXPECT_EQ(s->position(), 8);
  EXPECT_EQ(s->decode(300, 1).code(), absl::StatusCode::kOutOfRange);
  // A whole prompt longer than the budget fails before any work.
  auto fresh = session(4);
  EXPECT_EQ(fresh->prefill(story(5), 1).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(fresh->position(), 0);
}

TEST_F(Stories260K, BadTokensAreInvalidArgument) {
  auto s = session(16);
  EXPECT_EQ(s->decode(512, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->decode(-1, 1).code(), absl::StatusCode::kInvalidArgument);
  const absl::Status st = s->prefill(std::vector<int32_t>{1, 2, 9999}, 1);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("9999"), std::string::npos);
  EXPECT_EQ(s->prefill(std::vector<int32_t>{}, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->position(), 0);
}

TEST_F(Stories260K, RewindReplaysTheSameLogits) {
  auto s = session(64);
  ASSERT_TRUE(s->prefill(story(10), 1).ok());
  ASSERT_TRUE(s->decode(300, 1).ok());
  const std::vector<float> first = s->logits();
  ASSERT_TRUE(s->rewind(10).ok());
  ASSERT_TRUE(s->decode(300, 1).ok());
  EXPECT_EQ(s->logits(), first);
  EXPECT_EQ(s->rewind(50).code(), absl::StatusCode::kOutOfRange);
}

TEST_F(Stories260K, SessionsAreIndependent) {
  auto a = session(32);
  auto b = session(32);
  ASSERT_TRUE(a->prefill(story(6), 1).ok());
  ASSERT_TRUE(b->prefill(std::vector<int32_t>{1, 300, 301}, 1).ok());
  auto c = session(32);
  ASSERT_TRUE(c->prefill(story(6), 1).ok());
  EXPECT_EQ(a->logits(), c->logits());
}

// A copy of the model's tensor list with one tensor changed or removed.
std::shared_ptr<const model::Model> altered(std::shared_ptr<const model::Model> m, const std::string& name,
                                            bool remove, std::vector<int64_t> ne = {}) {
  std::vector<model::ModelTensor> tensors;
  for (const model::ModelTensor& t : m->tensors()) {
    if (t.name == name && remove) continue;
    tensors.push_back(t);
    if (t.name == name) tensors.back().ne = ne;
  }
  return model::Model::derive("altered", m, std::move(tensors), {});
}

TEST(LlamaValidation, NamesTheBadTensor) {
  auto m = testing::load_model("stories260K.gguf");
  ASSERT_NE(m, nullptr);
  auto missing = Llama::create(altered(m, "blk.3.ffn_up.weight", true));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("blk.3.ffn_up.weight"), std::string::npos) << missing.status();
  auto shape = Llama::create(altered(m, "blk.0.attn_k.weight", false, {64, 64}));
  EXPECT_EQ(shape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(shape.status().message().find("blk.0.attn_k.weight"), std::string::npos) << shape.status();
  // No output.weight: the classifier is tied to the embedding, and the logits do not change
  // (stories260K's output.weight equals token_embd.weight bit for bit).
  auto tied = Llama::create(altered(m, "output.weight", true));
  ASSERT_TRUE(tied.ok()) << tied.status();
  EXPECT_TRUE((*tied)->tied_output());
  auto untied = Llama::create(m);
  ASSERT_TRUE(untied.ok());
  auto s1 = (*tied)->new_session(16);
  auto s2 = (*untied)->new_session(16);
  ASSERT_TRUE((*s1)->prefill(std::vector<int32_t>{1, 403, 407}, 1).ok());
  ASSERT_TRUE((*s2)->prefill(std::vector<int32_t>{1, 403, 407}, 1).ok());
  EXPECT_EQ((*s1)->logits(), (*s2)->logits());
  EXPECT_EQ(Llama::create(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LlamaValidation, SessionOutlivesItsHandles) {
  auto m = testing::load_model("stories260K.gguf");
  ASSERT_NE(m, nullptr);
  auto l = Llama::create(m);
  ASSERT_TRUE(l.ok());
  auto s = (*l)->new_session(8);
  ASSERT_TRUE(s.ok());
  l->reset();
  m.reset();
  EXPECT_TRUE((*s)->decode(1, 1).ok());  // the session keeps the Llama and the Model alive
}

}  // namespace
}  // namespace quantd::llm
