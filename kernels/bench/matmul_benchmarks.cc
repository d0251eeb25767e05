// kernels::matmul over a 4096 x 4096 weight matrix (a 7B model's attention projection) in
// q4_0, q8_0 and f32, with 1 and 2 OpenMP threads, reported as weight bytes per second so it
// can be set against bandwidth/read.
//
// matvec (batch 1) is decoding: every weight is used once per call, so the weights must come
// from DRAM as they do in a real model. The copies of the matrix are rotated, XNNPACK-style,
// until they total at least 3x the LLC (q4_0: 9 MiB x 11); f32 (64 MiB) alternates 2 copies.
// matmul (batch 16) is prompt processing: each weight row is read once for 16 activation rows.
// It is compute-bound, and the scalar f32 dot (std::fma without -mfma is a libm call) takes
// seconds per call, so scalar runs it only when no SIMD ISA is available.
//
// Counters: bytes_per_second = weight bytes per second of wall time; with 1 thread also
// cpu_bytes_per_second, per second of this thread's CPU time.
//
// Names: matvec/<format>/<isa>/4096x4096/threads:<t>/real_time and
//        matmul/<format>/<isa>/4096x4096x16/threads:<t>/real_time
// (real time: the work runs on OpenMP threads, not on the benchmark thread alone).
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_data.h"
#include "benchmarks.h"
#include "quantd/kernels/matmul.h"

namespace quantd::bench {
namespace {

constexpr int64_t kRows = 4096;
constexpr int64_t kCols = 4096;
constexpr int64_t kBatch = 16;

struct RotatedWeights {
  const uint8_t* data = nullptr;
  size_t matrix_bytes = 0;
  int copies = 0;
};

const RotatedWeights& weights(kernels::Format format) {
  static std::map<kernels::Format, std::vector<uint8_t>> storage;
  static std::map<kernels::Format, RotatedWeights> cache;
  auto it = cache.find(format);
  if (it != cache.end()) return it->second;

  const kernels::FormatInfo& info = *kernels::find_format(format);
  RotatedWeights w;
  w.matrix_bytes = kernels::row_bytes(info, kCols) * kRows;
  w.copies = static_cast<int>(std::max<size_t>(2, (3 * llc_bytes() + w.matrix_bytes - 1) / w.matrix_bytes));
  std::vector<uint8_t>& bytes = storage[format];
  bytes.resize(w.matrix_bytes * w.copies);
  // The first 4096 x 4096 values of the large kernel input: no second 64 Mi-value source.
  const auto* one = static_cast<const uint8_t*>(row_in_format(format, kLargeValues, 0));
  for (int c = 0; c < w.copies; ++c) std::copy(one, one + w.matrix_bytes, bytes.begin() + c * w.matrix_bytes);
  w.data = bytes.data();
  return cache[format] = w;
}

void bm_matmul(benchmark::State& state, const kernels::KernelTable* k, kernels::Format format, int64_t batch,
               int threads) {
  const RotatedWeights& w = weights(format);
  const float* x = source_values(kL2Values, 1);  // kBatch x kCols activations
  std::vector<float> y(static_cast<size_t>(batch * kRows));
  int copy = 0;
  const double start = thread_cpu_seconds();
  for (auto _ : state) {
    const kernels::WeightMatrix m{format, w.data + static_cast<size_t>(copy) * w.matrix_bytes, kRows, kCols};
    kernels::matmul(*k, m, x, batch, y.data(), threads);
    benchmark::ClobberMemory();
    copy = (copy + 1) % w.copies;
  }
  const double cpu_seconds = thread_cpu_seconds() - start;
  const double bytes = static_cast<double>(state.iterations()) * static_cast<double>(w.matrix_bytes);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  // With one thread OpenMP runs the loop on this thread, so its CPU time is the work's: the same
  // rate without the time spent descheduled, comparable to the kernels' CPU-time figures.
  if (threads == 1 && cpu_seconds > 0) state.counters["cpu_bytes_per_second"] = bytes / cpu_seconds;
}

}  // namespace

void register_matmul_benchmarks() {
  static_assert(kBatch * kCols <= kL2Values, "activations come from source_values(kL2Values, 1)");
  const std::string shape = std::to_string(kRows) + "x" + std::to_string(kCols);
  const std::vector<kernels::Isa> isas = kernels::supported_isas();
  for (int64_t batch : {int64_t{1}, kBatch}) {
    const std::string op = batch == 1 ? "matvec" : "matmul";
    const std::string dims = batch == 1 ? shape : shape + "x" + std::to_string(batch);
    for (kernels::Format format : {kernels::Format::kQ4_0, kernels::Format::kQ8_0, kernels::Format::kF32}) {
      for (kernels::Isa isa : isas) {
        if (batch > 1 && isa == kernels::Isa::kScalar && isas.size() > 1) continue;
        for (int threads : {1, 2}) {
          const std::string name = op + "/" + std::string(kernels::find_format(format)->name) + "/" +
                                   std::string(kernels::isa_name(isa)) + "/" + dims + "/threads:" +
                                   std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), bm_matmul, kernels::kernels_for(isa), format, batch, threads)
              ->UseRealTime();
        }
      }
    }
  }
}

}  // namespace quantd::bench
