// Block schemes: the tensor is a flat sequence of 32-value blocks (rows are back to back and
// a multiple of 32 long), so the work splits into fixed ranges of blocks whatever the shape,
// each range one quantize_row / dequantize_row call into the kernel table.
#include "server/quant/block_quant.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "server/quant/buffer.h"
#include "server/quant/parallel.h"
#include "server/common/status.h"

namespace quantd::quant::internal {
namespace {

using kernels::Format;
using kernels::kBlockSize;

// Blocks per kernel call: 64 KiB of floats, large enough to amortize the call.
constexpr int64_t kBlocksPerTask = 512;

constexpr int64_t kNone = std::numeric_limits<int64_t>::max();  // "not found" for min reductions

const kernels::FormatInfo& info_of(Scheme s) { return *kernels::find_format(block_format(s)); }

// fp16 fields at the start of each block: d, plus m for the offset formats.
int header_halves(Scheme s) { return s == Scheme::kQ4_1 || s == Scheme::kQ5_1 ? 2 : 1; }

// Index of the first block in [0, nb) whose fp16 header holds an Inf or NaN, or -1.
int64_t first_bad_header(const uint8_t* blocks, int64_t nb, int block_bytes, int halves) {
  for (int64_t b = 0; b < nb; ++b) {
    for (int h = 0; h < halves; ++h) {
      uint16_t v;
      std::memcpy(&v, blocks + b * block_bytes + 2 * h, sizeof v);
      if ((v & 0x7C00) == 0x7C00) return b;
    }
  }
  return -1;
}

absl::Status check_kernels(const kernels::FormatKernels& fk, Scheme s) {
  if (fk.quantize_row == nullptr || fk.dequantize_row == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("the kernel table has no quantize/dequantize row for ", sv(scheme_name(s))));
  }
  return absl::OkStatus();
}

}  // namespace

Format block_format(Scheme s) {
  switch (s) {
    case Scheme::kQ4_0:
      return Format::kQ4_0;
    case Scheme::kQ4_1:
      return Format::kQ4_1;
    case Scheme::kQ5_0:
      return Format::kQ5_0;
    case Scheme::kQ5_1:
      return Format::kQ5_1;
    default:
      return Format::kQ8_0;
  }
}

uint64_t block_data_bytes(Scheme s, int64_t n) {
  return static_cast<uint64_t>(n / kBlockSize) * static_cast<uint64_t>(info_of(s).block_bytes);
}

absl::StatusOr<std::vector<uint8_t>> quantize_blocks(const kernels::KernelTable& k, Scheme s,
                                                     const float* x, int64_t n, int threads) {
  const kernels::FormatKernels& fk = k[block_format(s)];
  if (absl::Status st = check_kernels(fk, s); !st.ok()) return st;
  const int bb = info_of(s).block_bytes;
  const int halves = header_halves(s);
  const int64_t blocks = n / kBlockSize;
  const int64_t tasks = ceil_div(blocks, kBlocksPerTask);
  std::vector<uint8_t> data = make_output(block_data_bytes(s, n));
  int64_t first_non_finite = kNone;  // flat index
  int64_t first_overflow = kNone;    // block index
#pragma omp parallel for schedule(static) num_threads(team_size(threads, n)) \
    reduction(min                                                            \
              : first_non_finite, first_overflow)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t b0 = t * kBlocksPerTask;
    const int64_t nb = std::min(kBlocksPerTask, blocks - b0);
    const float* in = x + b0 * kBlockSize;
    // Checked here rather than in a separate pass: the chunk is then in cache for the kernel.
    const int64_t bad = first_non_finite_in(in, nb * kBlockSize);
    if (bad >= 0) {
      first_non_finite = std::min(first_non_finite, b0 * kBlockSize + bad);
      continue;
    }
    uint8_t* out = data.data() + b0 * bb;
    fk.quantize_row(in, out, nb * kBlockSize);
    // An fp16 scale that overflowed would decode as Inf: checked while the blocks are hot.
    const int64_t over = first_bad_header(out, nb, bb, halves);
    if (over >= 0) first_overflow = std::min(first_overflow, b0 + over);
  }
  if (first_non_finite != kNone) return non_finite_error(x, first_non_finite);
  if (first_overflow != kNone) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x: block ", first_overflow, " (flat indices ", first_overflow * kBlockSize, "..",
        first_overflow * kBlockSize + kBlockSize - 1, ") has values too large for ",
        sv(scheme_name(s)), ", whose fp16 block scale overflows (max about 65504 per code step)"));
  }
  return data;
}

absl::Status dequantize_blocks(const kernels::KernelTable& k, Scheme s, const uint8_t* data,
                               int64_t n, float* out, int threads) {
  const kernels::FormatKernels& fk = k[block_format(s)];
  if (absl::Status st = check_kernels(fk, s); !st.ok()) return st;
  const int bb = info_of(s).block_bytes;
  const int halves = header_halves(s);
  const int64_t blocks = n / kBlockSize;
  const int64_t tasks = ceil_div(blocks, kBlocksPerTask);
  int64_t first_bad = kNone;
#pragma omp parallel for schedule(static) num_threads(team_size(threads, n)) \
    reduction(min                                                            \
              : first_bad)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t b0 = t * kBlocksPerTask;
    const int64_t nb = std::min(kBlocksPerTask, blocks - b0);
    const uint8_t* in = data + b0 * bb;
    const int64_t bad = first_bad_header(in, nb, bb, halves);
    if (bad >= 0) {
      first_bad = std::min(first_bad, b0 + bad);
      continue;
    }
    fk.dequantize_row(in, out + b0 * kBlockSize, nb * kBlockSize);
  }
  if (first_bad != kNone) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: block ", first_bad, " of ", sv(scheme_name(s)),
                     " holds a non-finite fp16 scale or minimum (corrupted data)"));
  }
  return absl::OkStatus();
}

}  // namespace quantd::quant::internal
