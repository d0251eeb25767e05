// Memory-bandwidth reference, measured in the same run as the kernels and counted the same way
// (bytes read + bytes written per second).
//
// read: sum 64 Mi floats (256 MiB). Sixteen independent partial sums need no reassociation,
// so the compiler vectorises the loop even under -ffp-contract=off and without -ffast-math,
// and a baseline SSE2 loop already outruns DRAM.
// read_4streams: the same sum over the four quarters of the array at once. One core reads
// faster from several sequential streams than from one (more prefetches in flight); vec_dot
// reads two rows, so a single-stream figure alone would not bound it.
// copy: memcpy of 256 MiB into a second 256 MiB buffer, counted as 512 MiB moved. glibc
// switches to non-temporal stores at this size, so the copy pays no read-for-ownership of its
// destination; a kernel writing with ordinary stores does (see README.md).
#include <cstring>
#include <string>

#include "bench_data.h"
#include "benchmarks.h"

namespace quantd::bench {
namespace {

// n: a multiple of 16.
float sum_floats(const float* x, int64_t n) {
  float acc[16] = {};
  for (int64_t i = 0; i < n; i += 16) {
    for (int j = 0; j < 16; ++j) acc[j] += x[i + j];
  }
  float s = 0.0f;
  for (float a : acc) s += a;
  return s;
}

// n: a multiple of 64.
float sum_floats_4_streams(const float* x, int64_t n) {
  const int64_t quarter = n / 4;
  float acc[4][16] = {};
  for (int64_t i = 0; i < quarter; i += 16) {
    for (int s = 0; s < 4; ++s) {
      for (int j = 0; j < 16; ++j) acc[s][j] += x[s * quarter + i + j];
    }
  }
  float sum = 0.0f;
  for (const auto& a : acc) {
    for (float v : a) sum += v;
  }
  return sum;
}

void bm_read(benchmark::State& state, float (*sum)(const float*, int64_t)) {
  const int64_t n = kLargeValues;
  const float* x = source_values(n, 0);
  for (auto _ : state) {
    float s = sum(x, n);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void bm_copy(benchmark::State& state) {
  const int64_t bytes = kLargeValues * 4;
  const void* src = source_values(kLargeValues, 0);
  void* dst = output_buffer(static_cast<size_t>(bytes));
  for (auto _ : state) {
    std::memcpy(dst, src, static_cast<size_t>(bytes));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 2 * bytes);
}

}  // namespace

void register_bandwidth_benchmarks() {
  benchmark::RegisterBenchmark(("bandwidth/read/" + std::to_string(kLargeValues)).c_str(), bm_read, sum_floats);
  benchmark::RegisterBenchmark(("bandwidth/read_4streams/" + std::to_string(kLargeValues)).c_str(), bm_read,
                               sum_floats_4_streams);
  benchmark::RegisterBenchmark(("bandwidth/copy/" + std::to_string(kLargeValues * 4)).c_str(), bm_copy);
}

}  // namespace quantd::bench
