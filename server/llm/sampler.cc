#include "server/llm/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"

namespace quantd::llm {

absl::Status validate(const SamplerConfig& c) {
  // Written as !(valid) so that NaN, which fails every comparison, is rejected.
  if (!(c.temperature >= 0.0f) || std::isinf(c.temperature)) {
    return absl::InvalidArgumentError(absl::StrCat("temperature must be finite and >= 0, got ", c.temperature));
  }
  if (c.top_k < 0) return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 0, got ", c.top_k));
  if (!(c.top_p > 0.0f && c.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p must be in (0, 1], got ", c.top_p));
  }
  if (!(c.min_p >= 0.0f && c.min_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("min_p must be in [0, 1], got ", c.min_p));
  }
  if (!(c.repetition_penalty > 0.0f) || std::isinf(c.repetition_penalty)) {
    return absl::InvalidArgumentError(
        absl::StrCat("repetition_penalty must be finite and > 0, got ", c.repetition_penalty));
  }
  if (c.repetition_window < 0) {
    return absl::InvalidArgumentError(absl::StrCat("repetition_window must be >= 0, got ", c.repetition_window));
  }
  return absl::OkStatus();
}

absl::StatusOr<Sampler> Sampler::create(const SamplerConfig& config, int32_t n_vocab) {
  QUANTD_RETURN_IF_ERROR(validate(config));
  if (n_vocab <= 0) return absl::InvalidArgumentError(absl::StrCat("sampler: vocabulary size ", n_vocab));
  return Sampler(config, n_vocab);
}

Sampler::Sampler(const SamplerConfig& config, int32_t n_vocab)
    : config_(config), n_vocab_(n_vocab), rng_(config.seed) {
  penalized_.resize(n_vocab);
  candidates_.reserve(n_vocab);
}

void Sampler::accept(int32_t token) {
  if (config_.repetition_window == 0) return;
  recent_.push_back(token);
  while (recent_.size() > static_cast<size_t>(config_.repetition_window)) recent_.pop_front();
}

// CTRL's penalty as llama.cpp applies it: each distinct recent token once, dividing positive
// logits and multiplying negative ones, so the token always becomes less likely.
void Sampler::apply_penalty() {
  const float penalty = config_.repetition_penalty;
  if (penalty == 1.0f || recent_.empty()) return;
  std::unordered_set<int32_t> seen;
  for (int32_t t : recent_) {
    if (t < 0 || t >= n_vocab_ || !seen.insert(t).second) continue;
    float& l = penalized_[t];
    l = l > 0.0f ? l / penalty : l * penalty;
  }
}

void Sampler::keep_top_k(size_t k) {
  if (k == 0 || k >= candidates_.size()) return;
  auto higher = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(), higher);
  candidates_.resize(k);
  sorted_ = true;
}

// p over the current candidates at the given temperature (> 0).
void Sampler::softmax(float temperature) {
  float max_logit = -INFINITY;
  for (const Candidate& c : candidates_) max_logit = std::max(max_logit, c.logit);
  double sum = 0.0;
  for (Candidate& c : candidates_) {
    c.p = std::exp((c.logit - max_logit) / temperature);
    sum += c.p;
  }
  for (Candidate& c : candidates_) c.p = static_cast<float>(c.p / sum);
}

void Sampler::keep_top_p(float top_p) {
  if (top_p >= 1.0f || candidates_.size() <= 1) return;
  auto higher = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  size_t sorted = candidates_.size();
  if (!sorted_) {
    // Tokens below (1 - top_p) / (n - 1) cannot be needed: even all of them together stay under
    // the 1 - top_p the nucleus leaves out. Dropping them first shrinks the sort.
    const float floor = (1.0f - top_p) / static_cast<float>(candidates_.size() - 1);
    std::erase_if(candidates_, [&](const Candidate& c) { return c.p < floor; });
    // Sort only as much of the head as the nucleus needs: a peaked distribution (the usual
    // case) reaches top_p within a few hundred tokens of a 100k+ vocabulary.
    sorted = std::min<size_t>(candidates_.size(), 256);
    for (;;) {
      std::partial_sort(candidates_.begin(), candidates_.begin() + sorted, candidates_.end(), higher);
      double head = 0.0;
      for (size_t i = 0; i < sorted; ++i) head += candidates_[i].p;
      if (head >= top_p || sorted == candidates_.size()) break;
      sorted = std::min(candidates_.size(), sorted * 4);
    }
    sorted_ = true;
  }
  double cum = 0.0;
  size_t n = 0;
  while (n < sorted) {
    cum += candidates_[n].p;
    ++n;
    if (cum >= top_p) break;
  }
  candidates_.resize(n);
}

// Relative to the most likely token, so renormalizing after top-p would not change the cut.
void Sampler::keep_min_p(float min_p) {
  if (min_p <= 0.0f || candidates_.empty()) return;
  float p_max = 0.0f;
  for (const Candidate& c : candidates_) p_max = std::max(p_max, c.p);
  const float threshold = min_p * p_max;
  std::erase_if(candidates_, [&](const Candidate& c) { return c.p < threshold; });
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::sample(std::span<const float> logits) {
  const size_t n = std::min(logits.size(), static_cast<size_t>(n_vocab_));
  if (n == 0) return -1;
  std::copy(logits.begin(), logits.begin() + n, penalized_.begin());
  apply_penalty();

  if (config_.temperature == 0.0f) {
    // First maximum: the lowest id wins ties, as llama2.c's and llama.cpp's argmax do.
    return static_cast<int32_t>(std::max_element(penalized_.begin(), penalized_.begin() + n) - penalized_.begin());
  }

  candidates_.clear();
  sorted_ = false;
  for (size_t i = 0; i < n; ++i) candidates_.push_back(Candidate{static_cast<int32_t>(i), penalized_[i], 0.0f});
  keep_top_k(static_cast<size_t>(config_.top_k));
  softmax(1.0f);
  keep_top_p(config_.top_p);
  keep_min_p(config_.min_p);
  softmax(config_.temperature);

  const double u = uniform();
  double cum = 0.0;
  for (const Candidate& c : candidates_) {
    cum += c.p;
    if (u < cum) return c.id;
  }
  return candidates_.back().id;  // rounding left u just above the total
}

}  // namespace quantd::llm
