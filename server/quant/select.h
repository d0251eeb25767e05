// Internal: exact order statistics of large float arrays without copying or reordering them.
#pragma once

#include <cstdint>
#include <span>

namespace quantd::quant::internal {

// Below this many values, copying and std::nth_element is as fast and simpler.
inline constexpr int64_t kRadixSelectMinValues = int64_t{1} << 20;

// out[i] = the ranks[i]-th smallest (0-based) of v[0..m), or of |v| when absolute; every
// rank < m. Exact, and the same for any thread count: floats map to order-preserving 32-bit
// keys, one parallel pass histograms their top 16 bits to find each rank's bucket, a second
// gathers only those buckets' keys, and nth_element finishes inside them.
void order_statistics(const float* v, int64_t m, bool absolute, std::span<const int64_t> ranks,
                      float* out, int threads);

}  // namespace quantd::quant::internal
