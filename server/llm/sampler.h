// Choosing the next token from the logits.
//
// The chain, in llama.cpp's default order: repetition penalty over the last N accepted tokens
// -> top-k -> top-p -> min-p -> temperature -> a draw from the remaining distribution.
// Top-p and min-p look at the distribution at temperature 1, renormalized over the tokens that
// survived the earlier steps; temperature only reshapes the final draw. Temperature 0 is greedy:
// the highest penalized logit (lowest id on ties), no randomness.
//
// The random stream is a 64-bit Mersenne Twister seeded from SamplerConfig::seed and turned
// into doubles by hand (not std::uniform_real_distribution, whose algorithm is not specified),
// so one seed gives the same tokens on every platform.
//
// Thread safety: a Sampler is per stream (it holds the history, the RNG and scratch space).
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace quantd::llm {

// Defaults leave the distribution unchanged (plain sampling at temperature 1).
struct SamplerConfig {
  float temperature = 1.0f;         // >= 0; 0 = greedy
  int32_t top_k = 0;                // >= 0; 0 = off
  float top_p = 1.0f;               // (0, 1]; 1 = off
  float min_p = 0.0f;               // [0, 1]; 0 = off
  float repetition_penalty = 1.0f;  // > 0; 1 = off (> 1 discourages repeats)
  int32_t repetition_window = 64;   // >= 0: how many recent tokens the penalty looks at
  uint64_t seed = 0;
};

// INVALID_ARGUMENT naming the first field out of range (NaN counts as out of range).
absl::Status validate(const SamplerConfig& config);

class Sampler {
 public:
  static absl::StatusOr<Sampler> create(const SamplerConfig& config, int32_t n_vocab);

  // Picks a token from logits (n_vocab values; not modified). -1 when logits is empty.
  int32_t sample(std::span<const float> logits);
  // Records a token in the penalty window: every generated token, and the prompt's tokens when
  // the caller wants them penalized too (llama.cpp does).
  void accept(int32_t token);

  const SamplerConfig& config() const { return config_; }

 private:
  Sampler(const SamplerConfig& config, int32_t n_vocab);
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };
  void apply_penalty();
  void keep_top_k(size_t k);
  void softmax(float temperature);
  void keep_top_p(float top_p);
  void keep_min_p(float min_p);
  double uniform();

  SamplerConfig config_;
  int32_t n_vocab_;
  std::mt19937_64 rng_;
  std::deque<int32_t> recent_;
  std::vector<float> penalized_;
  std::vector<Candidate> candidates_;
  bool sorted_ = false;  // candidates_ in descending logit order
};

}  // namespace quantd::llm
