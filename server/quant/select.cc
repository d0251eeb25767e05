#include "server/quant/select.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "server/quant/parallel.h"

namespace quantd::quant::internal {
namespace {

constexpr int kBuckets = 1 << 16;

// Unsigned order of keys = numeric order of floats (of |x| when absolute). -0 sorts just
// below +0, which compare equal as floats anyway.
inline uint32_t key_of(float x, bool absolute) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  if (absolute) return b & 0x7FFFFFFFu;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

inline float float_of(uint32_t key, bool absolute) {
  const uint32_t b = absolute ? key : ((key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key);
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

}  // namespace

void order_statistics(const float* v, int64_t m, bool absolute, std::span<const int64_t> ranks,
                      float* out, int threads) {
  const int team = team_size(threads, m);
  // Pass 1: bucket counts, 32-bit per block so the table stays in L2 (integer sums: any
  // grouping gives the same totals).
  constexpr int64_t kBlock = int64_t{1} << 22;
  const int64_t blocks = ceil_div(m, kBlock);
  std::vector<int64_t> hist(kBuckets, 0);
#pragma omp parallel num_threads(team)
  {
    std::vector<int64_t> total(kBuckets, 0);
    std::vector<uint32_t> part(kBuckets);
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      std::fill(part.begin(), part.end(), 0u);
      const int64_t end = std::min(m, (blk + 1) * kBlock);
      for (int64_t i = blk * kBlock; i < end; ++i) ++part[key_of(v[i], absolute) >> 16];
      for (int b = 0; b < kBuckets; ++b) total[b] += part[b];
    }
#pragma omp critical(quantd_quant_select)
    for (int b = 0; b < kBuckets; ++b) hist[b] += total[b];
  }
  // Each rank's bucket, and its rank among that bucket's keys.
  std::vector<uint32_t> bucket(ranks.size());
  std::vector<int64_t> rank_in(ranks.size());
  for (size_t r = 0; r < ranks.size(); ++r) {
    int64_t below = 0;
    uint32_t b = 0;
    while (below + hist[b] <= ranks[r]) below += hist[b++];
    bucket[r] = b;
    rank_in[r] = ranks[r] - below;
  }
  std::vector<uint32_t> targets(bucket);
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  // Pass 2: only the target buckets' keys (a few, typically a tiny fraction of m).
  std::vector<std::vector<uint32_t>> keys(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) keys[t].reserve(hist[targets[t]]);
#pragma omp parallel num_threads(team)
  {
    std::vector<std::vector<uint32_t>> mine(targets.size());
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      const uint32_t k = key_of(v[i], absolute);
      for (size_t t = 0; t < targets.size(); ++t) {
        if (k >> 16 == targets[t]) mine[t].push_back(k);
      }
    }
    // Arrival order differs with the team, but selection below does not depend on it.
#pragma omp critical(quantd_quant_select)
    for (size_t t = 0; t < targets.size(); ++t) {
      keys[t].insert(keys[t].end(), mine[t].begin(), mine[t].end());
    }
  }
  for (size_t r = 0; r < ranks.size(); ++r) {
    const size_t t = std::lower_bound(targets.begin(), targets.end(), bucket[r]) - targets.begin();
    std::vector<uint32_t>& k = keys[t];
    std::nth_element(k.begin(), k.begin() + rank_in[r], k.end());
    out[r] = float_of(k[rank_in[r]], absolute);
  }
}

}  // namespace quantd::quant::internal
