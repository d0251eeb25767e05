// The element-wise and per-head operations against values worked out by hand.
#include "server/llm/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace quantd::llm::ops {
namespace {

TEST(Ops, RmsNorm) {
  const std::vector<float> x = {1, 2, 3, 4}, w = {1, 1, 2, 0.5f};
  std::vector<float> out(4);
  rmsnorm(x.data(), w.data(), 4, 0.0f, out.data());
  const float r = 1.0f / std::sqrt(30.0f / 4);
  EXPECT_FLOAT_EQ(out[0], 1 * r);
  EXPECT_FLOAT_EQ(out[1], 2 * r);
  EXPECT_FLOAT_EQ(out[2], 6 * r);
  EXPECT_FLOAT_EQ(out[3], 2 * r);
  // eps keeps a zero vector finite.
  const std::vector<float> z(4, 0.0f);
  rmsnorm(z.data(), w.data(), 4, 1e-5f, out.data());
  for (float v : out) EXPECT_EQ(v, 0.0f);
}

TEST(Ops, RopeAnglesAndRotation) {
  std::vector<float> c(4), s(4);
  rope_angles(3, 8, 10000.0f, c.data(), s.data());
  for (int i = 0; i < 4; ++i) {
    const double theta = 3.0 * std::pow(10000.0, -2.0 * i / 8);
    EXPECT_FLOAT_EQ(c[i], static_cast<float>(std::cos(theta)));
    EXPECT_FLOAT_EQ(s[i], static_cast<float>(std::sin(theta)));
  }
  // Two heads of 6, rotating the first 4 values of each: pairs (0,1), (2,3); 4 and 5 untouched.
  std::vector<float> cs(2), sn(2);
  rope_angles(1, 4, 100.0f, cs.data(), sn.data());
  std::vector<float> x = {1, 0, 0, 1, 7, 8, 2, 0, 0, 2, 9, 10};
  rope(x.data(), 2, 6, 4, cs.data(), sn.data());
  EXPECT_FLOAT_EQ(x[0], std::cos(1.0f));
  EXPECT_FLOAT_EQ(x[1], std::sin(1.0f));
  EXPECT_FLOAT_EQ(x[2], -std::sin(0.1f));  // theta = 1 * 100^(-2/4) = 0.1
  EXPECT_FLOAT_EQ(x[3], std::cos(0.1f));
  EXPECT_EQ(x[4], 7.0f);
  EXPECT_EQ(x[5], 8.0f);
  EXPECT_FLOAT_EQ(x[6], 2 * std::cos(1.0f));
  EXPECT_EQ(x[10], 9.0f);
  // Position 0 is the identity.
  rope_angles(0, 4, 100.0f, cs.data(), sn.data());
  std::vector<float> y = {1, 2, 3, 4};
  rope(y.data(), 1, 4, 4, cs.data(), sn.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4}));
}

TEST(Ops, Softmax) {
  std::vector<float> x = {0.0f, std::log(3.0f)};
  softmax(x.data(), 2);
  EXPECT_NEAR(x[0], 0.25f, 1e-7f);
  EXPECT_NEAR(x[1], 0.75f, 1e-7f);
  // Large logits do not overflow: the maximum is subtracted first.
  std::vector<float> big = {1000.0f, 1000.0f, 990.0f};
  softmax(big.data(), 3);
  EXPECT_NEAR(big[0], 0.5f, 1e-4f);
  EXPECT_NEAR(big[0] + big[1] + big[2], 1.0f, 1e-6f);
}

TEST(Ops, AttentionHead) {
  // Two positions, head size 2, stride 4 (the cache row is wider than one head).
  const std::vector<float> q = {1, 0};
  const std::vector<float> k = {0, 0, 9, 9, std::log(3.0f) * std::sqrt(2.0f), 0, 9, 9};
  const std::vector<float> v = {1, 2, 9, 9, 5, 6, 9, 9};
  std::vector<float> scores(2), out(2);
  attention_head(q.data(), k.data(), v.data(), 2, 4, 2, scores.data(), out.data());
  // Scores 0 and log 3 after the 1/sqrt(2) scale: weights 1/4, 3/4.
  EXPECT_FLOAT_EQ(out[0], 0.25f * 1 + 0.75f * 5);
  EXPECT_FLOAT_EQ(out[1], 0.25f * 2 + 0.75f * 6);
  // One position: the value itself.
  attention_head(q.data(), k.data(), v.data(), 1, 4, 2, scores.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{1, 2}));
}

TEST(Ops, AttentionHeadLongHeads) {
  // Head size 20 exercises the 8-lane dot product and its tail.
  const int d = 20;
  std::vector<float> q(d), k(2 * d), v(2 * d);
  for (int i = 0; i < d; ++i) {
    q[i] = 0.1f * i;
    k[i] = 0.05f * (d - i);
    k[d + i] = -0.02f * i;
    v[i] = 1.0f;
    v[d + i] = -1.0f;
  }
  std::vector<float> scores(2), out(d);
  attention_head(q.data(), k.data(), v.data(), 2, d, d, scores.data(), out.data());
  double s0 = 0, s1 = 0;
  for (int i = 0; i < d; ++i) {
    s0 += q[i] * k[i];
    s1 += q[i] * k[d + i];
  }
  s0 /= std::sqrt(double(d));
  s1 /= std::sqrt(double(d));
  const double w0 = 1.0 / (1.0 + std::exp(s1 - s0));
  for (int i = 0; i < d; ++i) EXPECT_NEAR(out[i], w0 - (1 - w0), 1e-5);
}

TEST(Ops, SwigluAndAdd) {
  std::vector<float> g = {0.0f, 1.0f, -2.0f}, u = {5.0f, 2.0f, 3.0f};
  swiglu(g.data(), u.data(), 3);
  EXPECT_FLOAT_EQ(g[0], 0.0f);
  EXPECT_FLOAT_EQ(g[1], 2.0f / (1.0f + std::exp(-1.0f)));
  EXPECT_FLOAT_EQ(g[2], 3.0f * -2.0f / (1.0f + std::exp(2.0f)));
  std::vector<float> x = {1, 2, 3};
  add(x.data(), u.data(), 3);
  EXPECT_EQ(x, (std::vector<float>{6, 4, 6}));
}

TEST(Ops, EmbeddingRowDequantizes) {
  const kernels::KernelTable& k = kernels::kernels();
  // A 3 x 32 table in Q8_0 and in F16: row 2 comes back as the dequantized values.
  std::vector<float> src(3 * 32);
  for (size_t i = 0; i < src.size(); ++i) src[i] = 0.01f * static_cast<float>(i) - 0.5f;
  for (kernels::Format f : {kernels::Format::kQ8_0, kernels::Format::kF16, kernels::Format::kF32}) {
    const kernels::FormatInfo& info = *kernels::find_format(f);
    const size_t row = kernels::row_bytes(info, 32);
    std::vector<uint8_t> q(3 * row);
    for (int r = 0; r < 3; ++r) k[f].quantize_row(&src[r * 32], &q[r * row], 32);
    std::vector<float> want(32), got(32);
    k[f].dequantize_row(&q[2 * row], want.data(), 32);
    embedding_row(k, kernels::WeightMatrix{f, q.data(), 3, 32}, 2, got.data());
    EXPECT_EQ(got, want);
    for (int i = 0; i < 32; ++i) EXPECT_NEAR(got[i], src[64 + i], 0.01f);
  }
}

}  // namespace
}  // namespace quantd::llm::ops
