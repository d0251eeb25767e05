// The engine's first-step logits against a plain float Llama written here from the math,
// straight from the F32 tensors of stories260K.gguf: at position 0 RoPE is the identity and
// attention over one position returns V, so the whole forward pass is a few loops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "server/llm/session.h"
#include "tests/llm/test_util.h"

namespace quantd::llm {
namespace {

// y = W x for a GGUF F32 matrix (ne[0] = columns = x's length, ne[1] = rows).
std::vector<float> matvec(const model::ModelTensor& w, const std::vector<float>& x) {
  const int64_t cols = w.ne[0], rows = w.ne[1];
  EXPECT_EQ(static_cast<int64_t>(x.size()), cols) << w.name;
  std::vector<float> y(rows);
  const float* m = reinterpret_cast<const float*>(w.data);
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += static_cast<double>(m[r * cols + c]) * x[c];
    y[r] = static_cast<float>(s);
  }
  return y;
}

std::vector<float> rmsnorm(const std::vector<float>& x, const model::ModelTensor& weight, float eps) {
  double ss = 0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
  const float* w = reinterpret_cast<const float*>(weight.data);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i] * scale * w[i]);
  return y;
}

TEST(FirstStep, EngineMatchesPlainFloatForward) {
  auto model = testing::load_model("stories260K.gguf");
  ASSERT_NE(model, nullptr);
  const model::LlamaConfig& p = model->params();
  auto t = [&](const std::string& name) {
    const model::ModelTensor* x = model->tensor(name);
    EXPECT_NE(x, nullptr) << name;
    EXPECT_EQ(x->format, kernels::Format::kF32) << name;
    return *x;
  };
  const int32_t bos = 1;
  const int64_t head_dim = p.head_dim(), group = p.n_head / p.n_head_kv;

  const model::ModelTensor embd = t("token_embd.weight");
  std::vector<float> x(reinterpret_cast<const float*>(embd.data) + bos * p.n_embd,
                       reinterpret_cast<const float*>(embd.data) + (bos + 1) * p.n_embd);
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const std::vector<float> xb = rmsnorm(x, t(b + "attn_norm.weight"), p.rms_eps);
    const std::vector<float> v = matvec(t(b + "attn_v.weight"), xb);
    // One position: every head's softmax is [1], so its output is its KV head's value vector.
    std::vector<float> att(p.n_embd);
    for (int64_t h = 0; h < p.n_head; ++h) {
      std::memcpy(&att[h * head_dim], &v[(h / group) * head_dim], head_dim * sizeof(float));
    }
    const std::vector<float> o = matvec(t(b + "attn_output.weight"), att);
    for (int64_t i = 0; i < p.n_embd; ++i) x[i] += o[i];
    const std::vector<float> xf = rmsnorm(x, t(b + "ffn_norm.weight"), p.rms_eps);
    const std::vector<float> g = matvec(t(b + "ffn_gate.weight"), xf), u = matvec(t(b + "ffn_up.weight"), xf);
    std::vector<float> h(g.size());
    for (size_t i = 0; i < g.size(); ++i) h[i] = static_cast<float>(g[i] / (1.0 + std::exp(-g[i])) * u[i]);
    const std::vector<float> d = matvec(t(b + "ffn_down.weight"), h);
    for (int64_t i = 0; i < p.n_embd; ++i) x[i] += d[i];
  }
  const std::vector<float> want = matvec(t("output.weight"), rmsnorm(x, t("output_norm.weight"), p.rms_eps));

  auto llama = Llama::create(model);
  ASSERT_TRUE(llama.ok()) << llama.status();
  auto session = (*llama)->new_session(16);
  ASSERT_TRUE(session.ok());
  const int32_t tokens[1] = {bos};
  ASSERT_TRUE((*session)->prefill(tokens, 1).ok());
  const std::vector<float>& got = (*session)->logits();
  ASSERT_EQ(got.size(), want.size());
  double max_diff = 0, max_abs = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(want[i])));
  }
  // Float accumulation in the engine vs double here, through 5 layers: ~1e-6 relative.
  EXPECT_LT(max_diff, 1e-4 * max_abs) << "max |engine - plain| = " << max_diff << " of logits up to " << max_abs;
  std::printf("[ logits   ] max |engine - plain float| = %.3g (largest logit %.3g)\n", max_diff, max_abs);
}

}  // namespace
}  // namespace quantd::llm
