// The sampler: validation, greedy, determinism per seed, each filter, the repetition penalty,
// and that plain sampling follows the softmax distribution.
#include "server/llm/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <limits>
#include <vector>

namespace quantd::llm {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(SamplerConfig, ValidateRejectsOutOfRange) {
  EXPECT_TRUE(validate(SamplerConfig{}).ok());
  auto bad = [](auto mutate) {
    SamplerConfig c;
    mutate(c);
    return validate(c).code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(bad([](SamplerConfig& c) { c.temperature = -0.1f; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.temperature = kNaN; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.temperature = INFINITY; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.top_p = 0.0f; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.top_p = 1.5f; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.top_p = kNaN; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.min_p = -0.01f; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.min_p = 1.01f; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.min_p = kNaN; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.top_k = -1; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.repetition_penalty = 0.0f; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.repetition_penalty = -1.0f; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.repetition_penalty = kNaN; }), kInvalid);
  EXPECT_EQ(bad([](SamplerConfig& c) { c.repetition_window = -1; }), kInvalid);
  // Edges that are allowed.
  EXPECT_TRUE(validate(SamplerConfig{.temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .min_p = 1.0f}).ok());
  // The message names the field.
  SamplerConfig c;
  c.top_p = 2.0f;
  EXPECT_NE(validate(c).message().find("top_p"), std::string::npos);
  EXPECT_EQ(Sampler::create(c, 10).status().code(), kInvalid);
  EXPECT_EQ(Sampler::create(SamplerConfig{}, 0).status().code(), kInvalid);
}

TEST(Sampler, GreedyPicksTheFirstMaximum) {
  auto s = Sampler::create(SamplerConfig{.temperature = 0.0f}, 5);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sample(std::vector<float>{0.1f, 3.0f, -1.0f, 3.0f, 2.0f}), 1);
  EXPECT_EQ(s->sample(std::vector<float>{-5.0f, -4.0f, -3.0f, -2.0f, -1.0f}), 4);
  EXPECT_EQ(s->sample(std::vector<float>{}), -1);
  auto random = Sampler::create(SamplerConfig{}, 5);
  ASSERT_TRUE(random.ok());
  EXPECT_EQ(random->sample(std::vector<float>{}), -1);
}

std::vector<float> ramp(int n) {
  std::vector<float> l(n);
  for (int i = 0; i < n; ++i) l[i] = 0.05f * static_cast<float>(i % 37) - 0.3f * std::sin(static_cast<float>(i));
  return l;
}

std::vector<int32_t> draw(SamplerConfig c, int n_vocab, int n) {
  auto s = Sampler::create(c, n_vocab);
  EXPECT_TRUE(s.ok());
  const std::vector<float> logits = ramp(n_vocab);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s->sample(logits));
  return out;
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerConfig c{.temperature = 0.9f, .top_k = 50, .top_p = 0.9f, .min_p = 0.01f, .seed = 1234};
  EXPECT_EQ(draw(c, 1000, 200), draw(c, 1000, 200));
  SamplerConfig d = c;
  d.seed = 1235;
  EXPECT_NE(draw(c, 1000, 200), draw(d, 1000, 200));
}

TEST(Sampler, FollowsTheSoftmaxDistribution) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  auto s = Sampler::create(SamplerConfig{.seed = 7}, 3);
  ASSERT_TRUE(s.ok());
  std::vector<int> counts(3);
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s->sample(logits)];
  EXPECT_NEAR(counts[0] / double(n), 0.5, 0.015);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.015);
  EXPECT_NEAR(counts[2] / double(n), 0.2, 0.015);
  // Temperature 0.5 squares the odds: 25 : 9 : 4.
  auto cold = Sampler::create(SamplerConfig{.temperature = 0.5f, .seed = 7}, 3);
  ASSERT_TRUE(cold.ok());
  counts.assign(3, 0);
  for (int i = 0; i < n; ++i) ++counts[cold->sample(logits)];
  EXPECT_NEAR(counts[0] / double(n), 25.0 / 38, 0.015);
  EXPECT_NEAR(counts[2] / double(n), 4.0 / 38, 0.015);
}

TEST(Sampler, TopKTopPMinPCut) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  auto run = [&](SamplerConfig c) {
    c.temperature = 1.5f;  // flatten, so a cut token would show up
    auto s = Sampler::create(c, 4);
    EXPECT_TRUE(s.ok());
    std::vector<int> counts(4);
    for (int i = 0; i < 5000; ++i) ++counts[s->sample(logits)];
    return counts;
  };
  auto k2 = run(SamplerConfig{.top_k = 2});
  EXPECT_GT(k2[1], 0);
  EXPECT_EQ(k2[2] + k2[3], 0);
  auto k1 = run(SamplerConfig{.top_k = 1});
  EXPECT_EQ(k1[0], 5000);
  // top_p 0.7: 0.5 + 0.3 reaches it, so only tokens 0 and 1.
  auto p = run(SamplerConfig{.top_p = 0.7f});
  EXPECT_GT(p[1], 0);
  EXPECT_EQ(p[2] + p[3], 0);
  auto p_tiny = run(SamplerConfig{.top_p = 0.01f});
  EXPECT_EQ(p_tiny[0], 5000);
  // min_p 0.25: threshold 0.125 keeps 0.5, 0.3, 0.15.
  auto m = run(SamplerConfig{.min_p = 0.25f});
  EXPECT_GT(m[2], 0);
  EXPECT_EQ(m[3], 0);
  auto m1 = run(SamplerConfig{.min_p = 1.0f});
  EXPECT_EQ(m1[0], 5000);
}

TEST(Sampler, TopPOverALargeVocabulary) {
  // The pre-sort pruning must not change the nucleus: compare against a direct computation.
  const int n = 50000;
  std::vector<float> logits = ramp(n);
  SamplerConfig c{.top_p = 0.5f, .seed = 3};
  auto s = Sampler::create(c, n);
  ASSERT_TRUE(s.ok());
  // The nucleus by brute force.
  std::vector<int32_t> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  double z = 0;
  const float mx = logits[order[0]];
  for (float l : logits) z += std::exp(l - mx);
  std::set<int32_t> nucleus;
  double cum = 0;
  for (int32_t id : order) {
    nucleus.insert(id);
    cum += std::exp(logits[id] - mx) / z;
    if (cum >= 0.5) break;
  }
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(nucleus.count(s->sample(logits))) << i;
}

TEST(Sampler, RepetitionPenaltyOverAWindow) {
  SamplerConfig c{.temperature = 0.0f, .repetition_penalty = 1.5f, .repetition_window = 2};
  auto s = Sampler::create(c, 3);
  ASSERT_TRUE(s.ok());
  const std::vector<float> pos = {2.0f, 1.9f, 0.0f};
  EXPECT_EQ(s->sample(pos), 0);
  s->accept(0);
  EXPECT_EQ(s->sample(pos), 1);  // 2.0 / 1.5 < 1.9
  // Negative logits are multiplied: -1.0 * 1.5 < -1.2.
  const std::vector<float> neg = {-1.0f, -1.2f, -5.0f};
  EXPECT_EQ(s->sample(neg), 1);
  // Two more tokens push token 0 out of the window of 2.
  s->accept(2);
  s->accept(2);
  EXPECT_EQ(s->sample(pos), 0);
  // Repeats in the window count once.
  auto once = Sampler::create(SamplerConfig{.temperature = 0.0f, .repetition_penalty = 1.5f}, 3);
  ASSERT_TRUE(once.ok());
  for (int i = 0; i < 5; ++i) once->accept(0);
  EXPECT_EQ(once->sample(std::vector<float>{2.0f, 1.3f, 0.0f}), 0);  // 2.0 / 1.5 = 1.33 > 1.3
}

}  // namespace
}  // namespace quantd::llm
