// One generation stream over a shared Llama: the KV cache, the scratch buffers and the position.
//
// The KV cache holds keys and values in F32 for a fixed budget of max_ctx positions, allocated
// once when the session is made: 2 * n_layer * max_ctx * n_head_kv * head_dim * 4 bytes
// (kv_cache_bytes()). Scratch buffers grow to the largest prompt chunk seen and are reused.
//
// prefill() runs a whole prompt as one batch per layer (each weight matrix read once for up to
// kPrefillChunk tokens, causal attention inside the batch); decode() runs one token. Both leave
// the logits of their last token in logits(). Matrix products go through kernels::matvec /
// kernels::matmul with the given thread count; attention is split over heads with OpenMP.
// Results do not depend on the thread count (every split is over independent outputs).
//
// Errors leave the session unchanged: INVALID_ARGUMENT for an empty batch or a token outside
// [0, n_vocab); OUT_OF_RANGE when the tokens would run past max_ctx (the caller ends the
// stream with a "length" finish reason, or rewinds).
//
// Thread safety: one thread at a time per session.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "server/llm/llama.h"

namespace quantd::llm {

class Session {
 public:
  // Prompt tokens processed per batch; longer prompts run in chunks of this size.
  static constexpr int64_t kPrefillChunk = 256;

  absl::Status prefill(std::span<const int32_t> tokens, int threads);
  absl::Status decode(int32_t token, int threads);
  // Logits of the last token processed (n_vocab values).
  const std::vector<float>& logits() const { return logits_; }

  // Positions filled so far; the next token goes at position().
  int64_t position() const { return pos_; }
  int64_t max_ctx() const { return max_ctx_; }
  // Forgets positions >= pos (keeps the cached prefix, e.g. a shared system prompt).
  // OUT_OF_RANGE when pos > position().
  absl::Status rewind(int64_t pos);

  int64_t kv_cache_bytes() const { return kv_cache_bytes_for(llama_->config(), max_ctx_); }
  static int64_t kv_cache_bytes_for(const model::LlamaConfig& c, int64_t max_ctx) {
    return 2 * c.n_layer * max_ctx * c.kv_dim() * static_cast<int64_t>(sizeof(float));
  }
  // Bytes of scratch currently held (activations, scores, logits).
  int64_t scratch_bytes() const;
  const Llama& llama() const { return *llama_; }

 private:
  friend class Llama;
  Session(std::shared_ptr<const Llama> llama, int64_t max_ctx);

  absl::Status check(std::span<const int32_t> tokens) const;
  // The forward pass for n tokens at positions pos_ .. pos_ + n - 1.
  void forward(const int32_t* tokens, int64_t n, int threads);
  void embed(const int32_t* tokens, int64_t n);
  void rope_tables(int64_t n);
  void attention(const LayerWeights& w, float* k_cache, float* v_cache, int64_t n, int threads);
  void feed_forward(const LayerWeights& w, int64_t n, int threads);
  void classifier(int64_t n, int threads);
  void project(const kernels::WeightMatrix& w, const float* in, int64_t n, float* out, int threads) const;
  void reserve(int64_t n, int threads);

  std::shared_ptr<const Llama> llama_;
  const model::LlamaConfig& c_;
  int64_t max_ctx_;
  int64_t pos_ = 0;

  // [layer][position][kv_dim]: a batch's keys and values are contiguous rows, written straight
  // from the projection.
  std::unique_ptr<float[]> k_cache_;
  std::unique_ptr<float[]> v_cache_;

  // Scratch, batch-major: row b of x_ is token b's residual stream.
  int64_t batch_capacity_ = 0;
  std::vector<float> x_, xb_, xb2_, q_;  // n x n_embd
  std::vector<float> hb_, hb2_;          // n x n_ff
  std::vector<float> cos_, sin_;         // n x n_rot / 2
  std::vector<float> scores_;            // threads x max_ctx
  std::vector<float> logits_;            // n_vocab
};

}  // namespace quantd::llm
