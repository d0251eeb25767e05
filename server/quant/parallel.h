// Internal: how the quant library splits work over OpenMP threads.
#pragma once

#include <algorithm>
#include <cstdint>

namespace quantd::quant::internal {

// Below this many values a tensor is done on the calling thread: starting a team costs
// more than it saves.
inline constexpr int64_t kParallelMinValues = int64_t{1} << 15;

// Fixed chunk of values for reductions that must not depend on the thread count: partial
// results are per chunk (not per thread) and merged in chunk order.
inline constexpr int64_t kChunkValues = int64_t{1} << 14;

// A cap on the requested thread count, so a bad argument cannot ask the OpenMP runtime for
// millions of threads.
inline constexpr int kMaxThreads = 512;

// The team size for n values: 1 for small work, else the requested count clamped to
// [1, kMaxThreads].
inline int team_size(int threads, int64_t n) {
  if (n < kParallelMinValues) return 1;
  return std::clamp(threads, 1, kMaxThreads);
}

inline int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

}  // namespace quantd::quant::internal
