// Prefill and decode speed of the Llama forward pass on a GGUF file.
//
//   llm_bench MODEL.gguf [--threads 1,2] [--prompt 64] [--decode 64] [--reps 3]
//
// For each thread count: prefill of a `prompt`-token batch, then `decode` tokens one at a time
// (greedy, fed back). Reports tokens/s (best of `reps`), the weight bytes one decoded token reads,
// and the bandwidth that implies, to compare with the machine's memory bandwidth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "server/llm/llama.h"
#include "server/llm/session.h"
#include "server/model/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p != '\0';) {
    out.push_back(std::atoi(p));
    p = std::strchr(p, ',');
    if (p == nullptr) break;
    ++p;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [--threads 1,2] [--prompt 64] [--decode 64] [--reps 3]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  std::vector<int> threads = {1, 2};
  int prompt = 64, decode = 64, reps = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--threads") threads = parse_list(argv[i + 1]);
    else if (flag == "--prompt") prompt = std::atoi(argv[i + 1]);
    else if (flag == "--decode") decode = std::atoi(argv[i + 1]);
    else if (flag == "--reps") reps = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }

  const auto t_load = Clock::now();
  auto model = quantd::model::Model::load("bench", path, {});
  if (!model.ok()) {
    std::fprintf(stderr, "load: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  auto llama = quantd::llm::Llama::create(*model);
  if (!llama.ok()) {
    std::fprintf(stderr, "llama: %s\n", std::string(llama.status().message()).c_str());
    return 1;
  }
  const quantd::llm::LlamaConfig& c = (*llama)->config();
  const double bytes = static_cast<double>((*llama)->weight_bytes_per_token());
  std::printf("model %s: %lld layers, n_embd %lld, n_ff %lld, vocab %lld, isa %s, loaded in %.2f s\n", path.c_str(),
              static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd), static_cast<long long>(c.n_ff),
              static_cast<long long>(c.n_vocab),
              std::string(quantd::kernels::isa_name((*llama)->kernel_table().isa)).c_str(), seconds_since(t_load));
  std::printf("weight bytes read per decoded token: %.0f (%.1f MiB)\n", bytes, bytes / (1 << 20));

  std::vector<int32_t> tokens(prompt);
  for (int i = 0; i < prompt; ++i) tokens[i] = static_cast<int32_t>((1 + 7919 * static_cast<int64_t>(i)) % c.n_vocab);

  for (int t : threads) {
    double best_prefill = 0, best_decode = 0;
    for (int r = 0; r < reps; ++r) {
      auto s = (*llama)->new_session(prompt + decode + 1);
      if (!s.ok()) {
        std::fprintf(stderr, "session: %s\n", std::string(s.status().message()).c_str());
        return 1;
      }
      auto t0 = Clock::now();
      if (auto st = (*s)->prefill(tokens, t); !st.ok()) return 1;
      best_prefill = std::max(best_prefill, prompt / seconds_since(t0));
      t0 = Clock::now();
      for (int i = 0; i < decode; ++i) {
        const std::vector<float>& l = (*s)->logits();
        const auto next = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
        if (auto st = (*s)->decode(next, t); !st.ok()) return 1;
      }
      best_decode = std::max(best_decode, decode / seconds_since(t0));
    }
    std::printf("threads %d: prefill %d tokens: %.1f tokens/s | decode %d tokens: %.1f tokens/s = %.2f GB/s of weights\n",
                t, prompt, best_prefill, decode, best_decode, best_decode * bytes / 1e9);
  }
  return 0;
}
