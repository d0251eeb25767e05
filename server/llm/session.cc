// The Llama forward pass, top to bottom:
//   x = embedding(token)
//   per layer: x += Wo . attention(rope(Wq . norm(x)), rope(Wk . norm(x)), Wv . norm(x))
//              x += Wdown . (silu(Wgate . norm(x)) * (Wup . norm(x)))
//   logits = Wout . norm(x)
// run for a batch of tokens at once (prompt) or one token (decode).
#include "server/llm/session.h"

#include <omp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/llm/ops.h"

namespace quantd::llm {
namespace {

// Multiply-adds below which one thread does the work: waking a team costs microseconds (far
// more on a loaded machine), which small matrices (stories260K's are 64 x 64 .. 64 x 512) and
// short attention spans do not repay. Safe because no result depends on the thread count.
constexpr int64_t kParallelAttentionWork = 1 << 16;
constexpr int64_t kParallelMatmulWork = 1 << 16;

}  // namespace

Session::Session(std::shared_ptr<const Llama> llama, int64_t max_ctx)
    : llama_(std::move(llama)), c_(llama_->config()), max_ctx_(max_ctx) {
  // Uninitialized on purpose: pages are touched only as positions fill, and every position is
  // written before it is read.
  const size_t n = static_cast<size_t>(c_.n_layer * max_ctx_ * c_.kv_dim());
  k_cache_ = std::make_unique_for_overwrite<float[]>(n);
  v_cache_ = std::make_unique_for_overwrite<float[]>(n);
  logits_.assign(c_.n_vocab, 0.0f);
}

int64_t Session::scratch_bytes() const {
  const size_t floats = x_.capacity() + xb_.capacity() + xb2_.capacity() + q_.capacity() + hb_.capacity() +
                        hb2_.capacity() + cos_.capacity() + sin_.capacity() + scores_.capacity() +
                        logits_.capacity();
  return static_cast<int64_t>(floats * sizeof(float));
}

absl::Status Session::check(std::span<const int32_t> tokens) const {
  if (tokens.empty()) return absl::InvalidArgumentError("no tokens to process");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= c_.n_vocab) {
      return absl::InvalidArgumentError(absl::StrCat("token ", tokens[i], " at index ", i,
                                                     " is outside the vocabulary [0, ", c_.n_vocab, ")"));
    }
  }
  if (static_cast<int64_t>(tokens.size()) > max_ctx_ - pos_) {
    return absl::OutOfRangeError(absl::StrCat(tokens.size(), " tokens at position ", pos_,
                                              " would exceed the context of ", max_ctx_, " positions"));
  }
  return absl::OkStatus();
}

absl::Status Session::prefill(std::span<const int32_t> tokens, int threads) {
  QUANTD_RETURN_IF_ERROR(check(tokens));
  for (size_t done = 0; done < tokens.size();) {
    const int64_t n = std::min<int64_t>(kPrefillChunk, static_cast<int64_t>(tokens.size() - done));
    forward(tokens.data() + done, n, threads);
    done += n;
  }
  return absl::OkStatus();
}

absl::Status Session::decode(int32_t token, int threads) {
  QUANTD_RETURN_IF_ERROR(check(std::span<const int32_t>(&token, 1)));
  forward(&token, 1, threads);
  return absl::OkStatus();
}

absl::Status Session::rewind(int64_t pos) {
  if (pos < 0 || pos > pos_) {
    return absl::OutOfRangeError(absl::StrCat("cannot rewind to position ", pos, " of ", pos_));
  }
  pos_ = pos;
  return absl::OkStatus();
}

void Session::reserve(int64_t n, int threads) {
  if (n > batch_capacity_) {
    batch_capacity_ = n;
    x_.resize(n * c_.n_embd);
    xb_.resize(n * c_.n_embd);
    xb2_.resize(n * c_.n_embd);
    q_.resize(n * c_.n_head * c_.head_dim());
    hb_.resize(n * c_.n_ff);
    hb2_.resize(n * c_.n_ff);
    cos_.resize(n * c_.n_rot / 2);
    sin_.resize(n * c_.n_rot / 2);
  }
  const size_t score_floats = static_cast<size_t>(threads) * static_cast<size_t>(max_ctx_);
  if (scores_.size() < score_floats) scores_.resize(score_floats);
}

void Session::project(const kernels::WeightMatrix& w, const float* in, int64_t n, float* out, int threads) const {
  if (w.rows * w.cols * n < kParallelMatmulWork) threads = 1;
  if (n == 1) kernels::matvec(llama_->kernel_table(), w, in, out, threads);
  else kernels::matmul(llama_->kernel_table(), w, in, n, out, threads);
}

void Session::forward(const int32_t* tokens, int64_t n, int threads) {
  if (threads <= 0) threads = omp_get_max_threads();
  reserve(n, threads);
  embed(tokens, n);
  rope_tables(n);
  const int64_t layer_floats = max_ctx_ * c_.kv_dim();
  for (int64_t l = 0; l < c_.n_layer; ++l) {
    const LayerWeights& w = llama_->layers()[l];
    attention(w, k_cache_.get() + l * layer_floats, v_cache_.get() + l * layer_floats, n, threads);
    feed_forward(w, n, threads);
  }
  classifier(n, threads);
  pos_ += n;
}

void Session::embed(const int32_t* tokens, int64_t n) {
  for (int64_t b = 0; b < n; ++b) {
    ops::embedding_row(llama_->kernel_table(), llama_->token_embd(), tokens[b], &x_[b * c_.n_embd]);
  }
}

// The rotation angles depend only on the position: computed once per batch, used by all layers.
void Session::rope_tables(int64_t n) {
  const int64_t half = c_.n_rot / 2;
  for (int64_t b = 0; b < n; ++b) {
    ops::rope_angles(pos_ + b, c_.n_rot, c_.rope_freq_base, &cos_[b * half], &sin_[b * half]);
  }
}

void Session::attention(const LayerWeights& w, float* k_cache, float* v_cache, int64_t n, int threads) {
  const int64_t dim = c_.n_embd, q_dim = c_.n_head * c_.head_dim(), kv_dim = c_.kv_dim(), hd = c_.head_dim();
  const int64_t half = c_.n_rot / 2;
  for (int64_t b = 0; b < n; ++b) ops::rmsnorm(&x_[b * dim], w.attn_norm.data(), dim, c_.rms_eps, &xb_[b * dim]);

  // Keys and values of the batch land directly in their cache rows.
  float* k_rows = k_cache + pos_ * kv_dim;
  float* v_rows = v_cache + pos_ * kv_dim;
  project(w.wq, xb_.data(), n, q_.data(), threads);
  project(w.wk, xb_.data(), n, k_rows, threads);
  project(w.wv, xb_.data(), n, v_rows, threads);
  for (int64_t b = 0; b < n; ++b) {
    ops::rope(&q_[b * q_dim], c_.n_head, hd, c_.n_rot, &cos_[b * half], &sin_[b * half]);
    ops::rope(k_rows + b * kv_dim, c_.n_head_kv, hd, c_.n_rot, &cos_[b * half], &sin_[b * half]);
  }

  // Token b of the batch sees positions [0, pos_ + b]: causal inside the batch. Query heads
  // share a key/value head in groups of n_head / n_head_kv (grouped-query attention).
  // Each (token, head) pair is independent, so the split cannot change the result.
  const int64_t group = c_.n_head / c_.n_head_kv;
  const int64_t pairs = n * c_.n_head;
  float* out = xb_.data();  // the normed input is no longer needed
  // Waking threads costs microseconds: only worth it when there are enough scores to compute.
  const bool parallel = threads > 1 && pairs * (pos_ + n) * hd >= kParallelAttentionWork;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (parallel)
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t b = i / c_.n_head, h = i % c_.n_head;
    float* scores = &scores_[static_cast<size_t>(omp_get_thread_num()) * max_ctx_];
    const int64_t kv_off = (h / group) * hd;
    ops::attention_head(&q_[b * q_dim + h * hd], k_cache + kv_off, v_cache + kv_off, pos_ + b + 1, kv_dim, hd,
                        scores, &out[b * q_dim + h * hd]);
  }

  project(w.wo, out, n, xb2_.data(), threads);
  ops::add(x_.data(), xb2_.data(), n * dim);
}

void Session::feed_forward(const LayerWeights& w, int64_t n, int threads) {
  const int64_t dim = c_.n_embd, ff = c_.n_ff;
  for (int64_t b = 0; b < n; ++b) ops::rmsnorm(&x_[b * dim], w.ffn_norm.data(), dim, c_.rms_eps, &xb_[b * dim]);
  project(w.gate, xb_.data(), n, hb_.data(), threads);
  project(w.up, xb_.data(), n, hb2_.data(), threads);
  ops::swiglu(hb_.data(), hb2_.data(), n * ff);
  project(w.down, hb_.data(), n, xb2_.data(), threads);
  ops::add(x_.data(), xb2_.data(), n * dim);
}

// Only the last token's logits are wanted (the next token follows it).
void Session::classifier(int64_t n, int threads) {
  const int64_t dim = c_.n_embd;
  ops::rmsnorm(&x_[(n - 1) * dim], llama_->output_norm().data(), dim, c_.rms_eps, xb_.data());
  project(llama_->output(), xb_.data(), 1, logits_.data(), threads);
}

}  // namespace quantd::llm
