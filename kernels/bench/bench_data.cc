#include "bench_data.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <ctime>
#include <thread>
#include <tuple>

#include "quantd/kernels/kernels.h"

namespace quantd::bench {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Memory = std::unique_ptr<void, FreeDeleter>;

Memory allocate(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) std::abort();
  return Memory(p);
}

// splitmix64: cheap and good enough; 64 Mi values take well under a second.
uint64_t next(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Sum of four 16-bit uniforms (Irwin-Hall), centred and scaled to unit variance: close enough
// to a normal for timing, with no transcendental per value. Every 4096 values get their own
// scale, so blocks see different ranges as in real weights.
void fill_normal(float* x, int64_t n, uint64_t seed) {
  uint64_t s = seed;
  float scale = 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 4096 == 0) scale = 0.25f + static_cast<float>(next(s) >> 40) / static_cast<float>(1 << 24) * 2.0f;
    const uint64_t r = next(s);
    const float sum = static_cast<float>((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48));
    x[i] = (sum / 65536.0f - 2.0f) * 1.7320508f * scale;
  }
}

std::map<std::pair<int64_t, int>, Memory>& sources() {
  static std::map<std::pair<int64_t, int>, Memory> m;
  return m;
}

std::map<std::tuple<uint32_t, int64_t, int>, Memory>& rows() {
  static std::map<std::tuple<uint32_t, int64_t, int>, Memory> m;
  return m;
}

}  // namespace

const float* source_values(int64_t n, int stream) {
  Memory& m = sources()[{n, stream}];
  if (!m) {
    m = allocate(static_cast<size_t>(n) * sizeof(float));
    fill_normal(static_cast<float*>(m.get()), n, 0x5eed0000u + static_cast<uint64_t>(stream));
  }
  return static_cast<const float*>(m.get());
}

const void* row_in_format(kernels::Format format, int64_t n, int stream) {
  if (format == kernels::Format::kF32) return source_values(n, stream);
  Memory& m = rows()[{static_cast<uint32_t>(format), n, stream}];
  if (!m) {
    const kernels::FormatInfo& info = *kernels::find_format(format);
    m = allocate(kernels::row_bytes(info, n));
    (*kernels::kernels_for(kernels::Isa::kScalar))[format].quantize_row(source_values(n, stream), m.get(), n);
  }
  return m.get();
}

void* output_buffer(size_t bytes) {
  static Memory buffer;
  static size_t size = 0;
  if (bytes > size) {
    buffer = allocate(bytes);
    std::memset(buffer.get(), 0, bytes);  // fault every page in now, not in the timed loop
    size = bytes;
  }
  return buffer.get();
}

size_t llc_bytes() {
  if (std::FILE* f = std::fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r")) {
    unsigned long kib = 0;
    const bool ok = std::fscanf(f, "%luK", &kib) == 1 && kib > 0;
    std::fclose(f);
    if (ok) return static_cast<size_t>(kib) << 10;
  }
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  return l3 > 0 ? static_cast<size_t>(l3) : size_t{32} << 20;
}

double tsc_hz() {
#if defined(__x86_64__) || defined(__i386__)
  static const double hz = [] {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point t0 = Clock::now();
    const uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t c1 = __rdtsc();
    const Clock::time_point t1 = Clock::now();
    return static_cast<double>(c1 - c0) / std::chrono::duration<double>(t1 - t0).count();
  }();
  return hz;
#else
  return 0.0;
#endif
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

void set_kernel_counters(benchmark::State& state, int64_t values, int64_t bytes, double cpu_seconds,
                         const FastestCall& fastest) {
  const double iterations = static_cast<double>(state.iterations());
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["values/s"] = benchmark::Counter(iterations * static_cast<double>(values), benchmark::Counter::kIsRate);
  if (tsc_hz() > 0) {
    state.counters["cyc/32"] = benchmark::Counter(cpu_seconds * tsc_hz() * 32.0 / static_cast<double>(values),
                                                  benchmark::Counter::kAvgIterations);
  }
  if (fastest.ticks() > 0) {
    state.counters["min_cyc/32"] = static_cast<double>(fastest.ticks()) * 32.0 / static_cast<double>(values);
  }
}

}  // namespace quantd::bench
