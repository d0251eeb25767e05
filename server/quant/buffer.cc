#include "server/quant/buffer.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace quantd::quant::internal {

std::vector<uint8_t> make_output(uint64_t n) {
  std::vector<uint8_t> v;
  v.reserve(n);  // allocates without touching the pages
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uint64_t kHuge = uint64_t{2} << 20;
  if (n >= 2 * kHuge) {
    const auto begin = reinterpret_cast<uintptr_t>(v.data());
    const uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t last = (begin + n) & ~(kHuge - 1);
    // Advice only: on failure (THP off) the pages are simply small.
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  }
#endif
  v.resize(n);
  return v;
}

int64_t first_non_finite_in(const float* x, int64_t n) {
  uint32_t any = 0;
  for (int64_t j = 0; j < n; ++j) {
    uint32_t bits;
    std::memcpy(&bits, x + j, sizeof bits);
    any |= static_cast<uint32_t>((bits & 0x7F800000u) == 0x7F800000u);  // exponent all ones
  }
  return any ? kernels::first_non_finite(x, n) : -1;
}

absl::Status non_finite_error(const float* x, int64_t bad) {
  if (bad < 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("x[", bad, "] = ", x[bad],
                   ": values must be finite (first non-finite flat index ", bad, ")"));
}

}  // namespace quantd::quant::internal
