// Block schemes: the tensor is a flat sequence of blocks (rows are back to back and a multiple
// of the block size long), so the work splits into fixed ranges of blocks whatever the shape,
// each range one quantize_row / dequantize_row call into the kernel table.
#include "server/quant/block_quant.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/quant/buffer.h"
#include "server/quant/parallel.h"

namespace quantd::quant::internal {
namespace {

using kernels::FieldType;
using kernels::FormatInfo;
using kernels::HeaderField;

// Values per kernel call: 64 KiB of floats, large enough to amortize the call (512 blocks of 32).
constexpr int64_t kValuesPerTask = 16384;

constexpr int64_t kNone = std::numeric_limits<int64_t>::max();  // "not found" for min reductions

// The split of n values into tasks of whole blocks: task t covers blocks [b0(t), b0(t) + nb(t)).
struct Tasks {
  int64_t per_task, blocks, count;
  Tasks(const FormatInfo& info, int64_t n)
      : per_task(std::max<int64_t>(1, kValuesPerTask / info.block_elems)),
        blocks(n / info.block_elems),
        count(ceil_div(blocks, per_task)) {}
  int64_t b0(int64_t t) const { return t * per_task; }
  int64_t nb(int64_t t) const { return std::min(per_task, blocks - b0(t)); }
};

bool non_finite(const uint8_t* p, FieldType type) {
  switch (type) {
    case FieldType::kF16: {
      uint16_t v;
      std::memcpy(&v, p, sizeof v);
      return (v & 0x7C00) == 0x7C00;
    }
    case FieldType::kF32: {
      uint32_t v;
      std::memcpy(&v, p, sizeof v);
      return (v & 0x7F800000) == 0x7F800000;
    }
  }
  return true;
}

// Index of the first block in [0, nb) whose header holds an Inf or NaN, or -1.
int64_t first_bad_header(const uint8_t* blocks, int64_t nb, const FormatInfo& info) {
  for (int64_t b = 0; b < nb; ++b) {
    for (const HeaderField& h : info.header) {
      if (non_finite(blocks + b * info.block_bytes + h.offset, h.type)) return b;
    }
  }
  return -1;
}

// "fp16" when every header field is one (all of ggml's simple formats), for messages.
std::string_view header_type(const FormatInfo& info) {
  for (const HeaderField& h : info.header) {
    if (h.type != FieldType::kF16) return "float";
  }
  return "fp16";
}

}  // namespace

absl::StatusOr<BlockFormat> block_format(const kernels::KernelTable& k, Scheme s) {
  const FormatInfo* info = block_format_info(s);
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(sv(scheme_name(s)), " is not a block scheme"));
  }
  const kernels::FormatKernels& fk = k[info->format];
  if (fk.quantize_row == nullptr || fk.dequantize_row == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("the kernel table has no quantize/dequantize row for ", sv(scheme_name(s))));
  }
  return BlockFormat{info, fk, scheme_name(s)};
}

absl::Status check_block_shape(std::span<const int64_t> shape, const FormatInfo& info, std::string_view name) {
  if (shape.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shape: a scalar (rank 0) cannot be quantized with ", sv(name),
        "; expected at least one dimension, the last a multiple of ", info.block_elems));
  }
  if (shape.back() % info.block_elems != 0) {
    return absl::InvalidArgumentError(absl::StrCat("shape[", shape.size() - 1, "] = ", shape.back(), ": ",
                                                   sv(name), " needs the last dimension to be a multiple of ",
                                                   info.block_elems));
  }
  return absl::OkStatus();
}

uint64_t block_data_bytes(const FormatInfo& info, int64_t n) {
  return static_cast<uint64_t>(n / info.block_elems) * static_cast<uint64_t>(info.block_bytes);
}

absl::StatusOr<std::vector<uint8_t>> quantize_blocks(const BlockFormat& f, const float* x, int64_t n,
                                                     int threads) {
  const FormatInfo& info = *f.info;
  const int64_t be = info.block_elems;
  const int64_t bb = info.block_bytes;
  const Tasks tasks(info, n);
  std::vector<uint8_t> data = make_output(block_data_bytes(info, n));
  int64_t first_non_finite = kNone;  // flat index
  int64_t first_overflow = kNone;    // block index
#pragma omp parallel for schedule(static) num_threads(team_size(threads, n)) \
    reduction(min                                                            \
              : first_non_finite, first_overflow)
  for (int64_t t = 0; t < tasks.count; ++t) {
    const int64_t b0 = tasks.b0(t), nb = tasks.nb(t);
    const float* in = x + b0 * be;
    // Checked here rather than in a separate pass: the chunk is then in cache for the kernel.
    const int64_t bad = first_non_finite_in(in, nb * be);
    if (bad >= 0) {
      first_non_finite = std::min(first_non_finite, b0 * be + bad);
      continue;
    }
    uint8_t* out = data.data() + b0 * bb;
    f.kernels.quantize_row(in, out, nb * be);
    // A scale that overflowed would decode as Inf: checked while the blocks are hot.
    const int64_t over = first_bad_header(out, nb, info);
    if (over >= 0) first_overflow = std::min(first_overflow, b0 + over);
  }
  if (first_non_finite != kNone) return non_finite_error(x, first_non_finite);
  if (first_overflow != kNone) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x: block ", first_overflow, " (flat indices ", first_overflow * be, "..", first_overflow * be + be - 1,
        ") has values too large for ", sv(f.name), ", whose ", sv(header_type(info)),
        " block scale overflows (max about 65504 per code step)"));
  }
  return data;
}

absl::Status dequantize_blocks(const BlockFormat& f, const uint8_t* data, int64_t n, float* out, int threads) {
  const FormatInfo& info = *f.info;
  const int64_t be = info.block_elems;
  const int64_t bb = info.block_bytes;
  const Tasks tasks(info, n);
  int64_t first_bad = kNone;
#pragma omp parallel for schedule(static) num_threads(team_size(threads, n)) \
    reduction(min                                                            \
              : first_bad)
  for (int64_t t = 0; t < tasks.count; ++t) {
    const int64_t b0 = tasks.b0(t), nb = tasks.nb(t);
    const uint8_t* in = data + b0 * bb;
    const int64_t bad = first_bad_header(in, nb, info);
    if (bad >= 0) {
      first_bad = std::min(first_bad, b0 + bad);
      continue;
    }
    f.kernels.dequantize_row(in, out + b0 * be, nb * be);
  }
  if (first_bad != kNone) {
    return absl::InvalidArgumentError(absl::StrCat("data: block ", first_bad, " of ", sv(f.name),
                                                   " holds a non-finite ", sv(header_type(info)),
                                                   " scale or minimum (corrupted data)"));
  }
  return absl::OkStatus();
}

}  // namespace quantd::quant::internal
