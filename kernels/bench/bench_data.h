// Shared pieces of kernel_bench: inputs built once and kept, page-touched output buffers, the
// TSC clock, and the counters every kernel benchmark reports.
//
// Inputs are built lazily on the first call of the first benchmark that needs them (outside
// the timed loop) and then shared by every ISA, so all ISAs read identical bytes. Nothing here
// is thread-safe: Google Benchmark runs the registered functions one after another.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "quantd/kernels/formats.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace quantd::bench {

// Values per row. kL2Values: 256 KiB of f32 (ggml's L2_SIZE, so figures line up with
// test-quantize-perf); input + output of every op fit a 1 MiB L2. kLargeValues: 256 MiB of
// f32, 8x a 32 MiB L3, so one pass streams from DRAM and nothing needs rotating.
inline constexpr int64_t kL2Values = int64_t{1} << 16;
inline constexpr int64_t kLargeValues = int64_t{1} << 26;

// n pseudo-random floats, roughly N(0, 1), deterministic. stream 0 plays the weights, stream 1
// the activations (so a dot product never multiplies a row by itself).
const float* source_values(int64_t n, int stream);

// source_values(n, stream) in `format`, quantized by the scalar reference. f32 returns the
// source itself.
const void* row_in_format(kernels::Format format, int64_t n, int stream);

// At least `bytes` of writable, 64-byte aligned memory whose pages are already faulted in.
// One buffer shared by all callers: its contents do not survive the next call.
void* output_buffer(size_t bytes);

// L3 size in bytes: sysfs (what lscpu shows), else sysconf, else 32 MiB. sysfs comes first
// because under KVM here sysconf(_SC_LEVEL3_CACHE_SIZE) says 256 MiB for a 32 MiB L3.
size_t llc_bytes();

// Ticks per second of the time-stamp counter (rdtsc: the clock ggml's test-quantize-perf
// counts "cycles" with, constant whatever the core clock does), estimated once against
// steady_clock over 200 ms. 0 where there is no TSC.
double tsc_hz();

// CPU time of the calling thread, in seconds: the clock Google Benchmark times these
// single-threaded benchmarks by. Time spent descheduled (the machine is shared) is not in it.
double thread_cpu_seconds();

// The fastest single call in TSC ticks, timed with rdtscp around each call as ggml's
// test-quantize-perf does for its "min cycles". On a shared machine the best call is the figure
// least disturbed by neighbours (no preemption, no evicted L2 in it). Costs ~40 cycles a call.
class FastestCall {
 public:
  void start() { start_ = now(); }
  void stop() { best_ = std::min(best_, now() - start_); }
  uint64_t ticks() const { return best_ == std::numeric_limits<uint64_t>::max() ? 0 : best_; }

 private:
  static uint64_t now() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned aux;
    return __rdtscp(&aux);
#else
    return 0;
#endif
  }
  uint64_t start_ = 0;
  uint64_t best_ = std::numeric_limits<uint64_t>::max();
};

// Counters of a kernel benchmark whose every iteration handles `values` values and moves
// `bytes` bytes (read + written), the timed loop having taken `cpu_seconds` of thread time:
//   bytes_per_second  (SetBytesProcessed; printed in 1024-based units by the console reporter)
//   values/s          rate
//   cyc/32            TSC cycles per 32 values: cpu_seconds x tsc_hz() / (iterations x values / 32)
//   min_cyc/32        TSC cycles per 32 values of the fastest call (x86 only)
void set_kernel_counters(benchmark::State& state, int64_t values, int64_t bytes, double cpu_seconds,
                         const FastestCall& fastest);

}  // namespace quantd::bench
