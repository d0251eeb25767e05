// Prefill and decode speed of the Llama forward pass on a GGUF file.
//
//   llm_bench MODEL.gguf [--threads 1,2] [--prompt 64] [--decode 64] [--reps 3]
//
// For each thread count: prefill of a `prompt`-token batch, then `decode` tokens one at a time
// (greedy, fed back). Reports tokens/s (best of `reps`), the weight bytes one decoded token reads,
// the bandwidth that implies, and, measured in the same run with the same threads, the plain
// read bandwidth of a 512 MiB buffer: decode tokens/s x bytes per token / read bandwidth is the
// fraction of the memory-bandwidth limit reached. The load average is printed too: on a shared
// machine, wall-clock figures are only as good as the load allows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <omp.h>

#include <memory>

#include "quantd/kernels/matmul.h"
#include "server/common/flags.h"
#include "server/llm/llama.h"
#include "server/llm/session.h"
#include "server/model/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Process CPU seconds: with one thread, a figure that other processes' load does not inflate
// (beyond what they take of the caches and the memory bus).
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::vector<int> parse_list(const std::vector<std::string>& items) {
  std::vector<int> out;
  for (const std::string& s : items) out.push_back(std::atoi(s.c_str()));
  return out;
}

// The sum of n floats with four independent vector accumulators: a loop the memory system, not
// the core, limits. On x86 an AVX2 clone is chosen at run time where the CPU has it: one core
// streams measurably faster with 32-byte loads than with baseline SSE2 (here 13-14.5 against
// 10.7 GB/s), and the limit should be the best the machine does, not what baseline code does.
#if defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
float sum_floats(const float* p, size_t n) {
  typedef float v8 __attribute__((vector_size(32)));
  v8 acc[4] = {};
  for (size_t i = 0; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      v8 v;
      std::memcpy(&v, p + i + 8 * k, sizeof v);
      acc[k] += v;
    }
  }
  const v8 s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  float total = 0;
  for (int k = 0; k < 8; ++k) total += s[k];
  return total;
}

// GB/s of summing a 512 MiB float buffer with `threads` threads, each its own contiguous part,
// best of 3.
double read_bandwidth(int threads) {
  const size_t n = size_t{128} << 20;
  static std::unique_ptr<float[]> buf = [&] {
    auto b = std::make_unique<float[]>(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<float>(i & 7);
    return b;
  }();
  const size_t part = n / static_cast<size_t>(threads) / 32 * 32;
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    float total = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : total) schedule(static)
    for (int t = 0; t < threads; ++t) total += sum_floats(&buf[t * part], part);
    sink = total;
    best = std::max(best, static_cast<double>(part) * threads * sizeof(float) / seconds_since(t0) / 1e9);
  }
  (void)sink;
  return best;
}

// Tokens/s of the forward pass's matrix products alone (7 per layer, then the output head for
// the last token), as one decode step (batch 1) or one prefill of `batch` tokens: the figure to
// put beside a matmul-only run of another library on the same file.
double matmuls_only(const quantd::llm::Llama& llama, int64_t batch, int threads, int reps) {
  const quantd::model::LlamaConfig& c = llama.config();
  const int64_t widest = std::max(c.n_embd, c.n_ff);
  std::vector<float> x(batch * widest), y(batch * std::max(widest, c.n_vocab));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  const quantd::kernels::KernelTable& k = llama.kernel_table();
  double best = 0;
  for (int r = 0; r < reps + 1; ++r) {  // the first pass warms up
    const auto t0 = Clock::now();
    for (const quantd::llm::LayerWeights& l : llama.layers()) {
      for (const quantd::kernels::WeightMatrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) {
        quantd::kernels::matmul(k, *w, x.data(), batch, y.data(), threads);
      }
    }
    quantd::kernels::matvec(k, llama.output(), x.data(), y.data(), threads);
    if (r > 0) best = std::max(best, batch / seconds_since(t0));
  }
  return best;
}

std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "?";
  char buf[64] = {};
  const size_t got = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, got);
  return s.substr(0, s.find(' '));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> thread_counts = {"1", "2"};
  int prompt = 64, decode = 64, reps = 3;
  quantd::flags::FlagSet flags("llm_bench",
                               "usage: llm_bench MODEL.gguf [flags]\n\n"
                               "Prefill and decode speed of the Llama forward pass, against the read bandwidth "
                               "measured in the same run.");
  flags.add_list("threads", &thread_counts, "OpenMP thread counts to measure, comma-separated.");
  flags.add("prompt", &prompt, "Prompt tokens prefilled in one batch.");
  flags.add("decode", &decode, "Tokens decoded one at a time after the prompt.");
  flags.add("reps", &reps, "Runs per thread count; the best counts.");
  const std::vector<std::string> positional = flags.parse_or_exit(argc, argv);
  if (positional.size() != 1) {
    std::fprintf(stderr, "usage: llm_bench MODEL.gguf [flags] (see --help)\n");
    return 2;
  }
  const std::string path = positional[0];
  const std::vector<int> threads = parse_list(thread_counts);

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
  const quantd::model::LlamaConfig& c = (*llama)->config();
  const double bytes = static_cast<double>((*llama)->weight_bytes_per_token());
  std::printf("model %s: %lld layers, n_embd %lld, n_ff %lld, vocab %lld, isa %s, loaded in %.2f s\n", path.c_str(),
              static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd), static_cast<long long>(c.n_ff),
              static_cast<long long>(c.n_vocab),
              std::string(quantd::kernels::isa_name((*llama)->kernel_table().isa)).c_str(), seconds_since(t_load));
  std::printf("weight bytes read per decoded token: %.0f (%.1f MiB)\n", bytes, bytes / (1 << 20));

  std::vector<int32_t> tokens(prompt);
  for (int i = 0; i < prompt; ++i) tokens[i] = static_cast<int32_t>((1 + 7919 * static_cast<int64_t>(i)) % c.n_vocab);

  for (int t : threads) {
    double best_prefill = 0, best_decode = 0, best_decode_cpu = 0;
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
      const double c0 = cpu_seconds();
      for (int i = 0; i < decode; ++i) {
        const std::vector<float>& l = (*s)->logits();
        const auto next = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
        if (auto st = (*s)->decode(next, t); !st.ok()) return 1;
      }
      best_decode = std::max(best_decode, decode / seconds_since(t0));
      best_decode_cpu = std::max(best_decode_cpu, decode / (cpu_seconds() - c0));
    }
    const double bw = read_bandwidth(t);
    std::printf("threads %d: prefill %d tokens: %.1f tokens/s | decode %d tokens: %.2f tokens/s = %.2f GB/s of "
                "weights | read bandwidth %.2f GB/s -> %.2f of the limit (load average %s)\n",
                t, prompt, best_prefill, decode, best_decode, best_decode * bytes / 1e9, bw,
                best_decode * bytes / 1e9 / bw, load_average().c_str());
    std::printf("threads %d, matrix products only: prefill %.1f tokens/s | decode %.2f tokens/s\n", t,
                matmuls_only(**llama, prompt, t, reps), matmuls_only(**llama, 1, t, reps));
    if (t == 1) {
      std::printf("threads 1 by CPU time: decode %.2f tokens/s = %.2f GB/s of weights -> %.2f of the read bandwidth\n",
                  best_decode_cpu, best_decode_cpu * bytes / 1e9, best_decode_cpu * bytes / 1e9 / bw);
    }
  }
  return 0;
}
