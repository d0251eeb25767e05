// Re-quantization: dequantize each row to f32, quantize it to the new format. Rows are
// independent, so OpenMP splits them; each thread keeps two f32 rows of scratch, allocated up
// front so that no allocation can throw inside the parallel region.
#include "server/model/requantize.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <new>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"
#include "server/common/status.h"

namespace quantd::model {
namespace {

using kernels::Format;
using kernels::FormatInfo;

// Error statistics are accumulated per chunk of rows and merged in chunk order, so their
// double sums do not depend on how rows were split across threads.
constexpr int64_t kRowsPerChunk = 16;
constexpr int64_t kNone = std::numeric_limits<int64_t>::max();

// The format table says which formats are plain floats (f32, f16, bf16).
bool is_float(Format f) {
  const FormatInfo* info = kernels::find_format(f);
  return info != nullptr && !info->is_block_quantized;
}

bool kept_by_pattern(const std::vector<std::string>& keep, const std::string& name) {
  return std::any_of(keep.begin(), keep.end(), [&](const std::string& p) { return glob_match(p, name); });
}

struct Plan {
  Format format;
  std::string note;
  bool convert;
};

Plan plan(const ModelTensor& t, const RequantizeOptions& o) {
  const auto kept_as_is = [&] {
    const kernels::FormatInfo* own = kernels::find_format(t.format);
    return Plan{t.format, absl::StrCat("kept: already ", own != nullptr ? sv(own->name) : "in its format"), false};
  };
  if (t.ne.size() < 2) return {t.format, "kept: 1-D", false};
  if (kept_by_pattern(o.keep, t.name)) return {t.format, "kept: matches --keep", false};
  if (o.keep_quantized && !is_float(t.format)) return kept_as_is();
  Plan p{matrix_format(t.ne[0], o.target, o.fallback), "", true};
  if (o.keep_quantized && p.format == t.format) return kept_as_is();
  if (p.format != o.target) {
    p.note = absl::StrCat("fallback: row of ", t.ne[0], " values is not a multiple of ",
                          kernels::find_format(o.target)->block_elems);
  }
  return p;
}

void lower_to(std::atomic<int64_t>& v, int64_t x) {
  int64_t prev = v.load();
  while (x < prev && !v.compare_exchange_weak(prev, x)) {
  }
}

absl::Status convert(const ModelTensor& t, const FormatInfo& dst, const RequantizeOptions& o,
                     RequantizedTensor* out) {
  const FormatInfo* src_info = kernels::find_format(t.format);
  if (src_info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' has type id ",
                                                   static_cast<uint32_t>(t.format), ", which quantd cannot read"));
  }
  const FormatInfo& src = *src_info;
  const kernels::KernelTable& table = kernels::kernels();
  const kernels::DequantizeRowFn dequantize = table[src.format].dequantize_row;
  const kernels::QuantizeRowFn quantize = table[dst.format].quantize_row;
  const kernels::DequantizeRowFn restore = table[dst.format].dequantize_row;
  if (dequantize == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", t.name, "' has type ", sv(src.name), ", which quantd cannot read back"));
  }
  const int64_t n = t.ne[0], rows = t.rows();
  const size_t src_row = kernels::row_bytes(src, n), dst_row = kernels::row_bytes(dst, n);
  const uint64_t bytes = static_cast<uint64_t>(rows) * dst_row;  // <= source bytes * 2: no overflow
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  const int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;

  std::unique_ptr<uint8_t[]> data(new (std::nothrow) uint8_t[bytes]);
  std::unique_ptr<float[]> scratch(new (std::nothrow) float[static_cast<size_t>(threads) * 2 * n]);
  std::unique_ptr<quant::ErrorAccumulator[]> acc;
  if (o.measure_error) acc.reset(new (std::nothrow) quant::ErrorAccumulator[chunks]);
  if (!data || !scratch || (o.measure_error && !acc)) {
    return absl::ResourceExhaustedError(absl::StrCat("tensor '", t.name, "': cannot allocate ", bytes, " bytes for ",
                                                     sv(dst.name)));
  }
  // Block quantizers require finite input (kernels.h); float formats carry Inf/NaN through.
  const bool check_finite = dst.is_block_quantized;
  std::atomic<int64_t> first_bad{kNone};  // flat index (row * n + column) of the first NaN/Inf
#pragma omp parallel num_threads(threads)
  {
    float* x = scratch.get() + static_cast<size_t>(omp_get_thread_num()) * 2 * n;
    float* y = x + n;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      for (int64_t r = c * kRowsPerChunk; r < std::min(rows, (c + 1) * kRowsPerChunk); ++r) {
        if (r * n > first_bad.load(std::memory_order_relaxed)) break;  // past a bad value: moot
        dequantize(t.data + r * src_row, x, n);
        if (check_finite) {
          const int64_t col = kernels::first_non_finite(x, n);
          if (col >= 0) {
            lower_to(first_bad, r * n + col);
            break;
          }
        }
        uint8_t* row = data.get() + r * dst_row;
        quantize(x, row, n);
        if (acc) {
          restore(row, y, n);
          acc[c].add(x, y, n);
        }
      }
    }
  }
  if (const int64_t bad = first_bad.load(); bad != kNone) {
    const int64_t r = bad / n, col = bad % n;
    dequantize(t.data + r * src_row, scratch.get(), n);
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' row ", r, " column ", col, ": ",
                                                   scratch[col], " cannot be quantized to ", sv(dst.name)));
  }
  if (acc) {
    quant::ErrorAccumulator total;
    for (int64_t c = 0; c < chunks; ++c) total.merge(acc[c]);
    out->report.error = total.stats();
  }
  out->tensor.format = dst.format;
  out->tensor.data = data.get();
  out->tensor.bytes = bytes;
  out->tensor.mapped = false;
  out->owned = std::move(data);
  out->report.after = dst.format;
  out->report.bytes_after = bytes;
  return absl::OkStatus();
}

}  // namespace

absl::Status check_requantize_options(const RequantizeOptions& o) {
  const FormatInfo* target = kernels::find_format(o.target);
  if (target == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("target type id ", static_cast<uint32_t>(o.target),
                                                   " is not a format quantd implements"));
  }
  if (const std::string err = kernels::select_kernels(); !err.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("kernel selection failed: ", err));
  }
  const kernels::KernelTable& k = kernels::kernels();
  if (k[o.target].quantize_row == nullptr || k[o.target].vec_dot == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("target ", sv(target->name), " is an activation format, not a weight format"));
  }
  const FormatInfo* fallback = kernels::find_format(o.fallback);
  if (fallback == nullptr || !is_float(o.fallback) || k[o.fallback].vec_dot == nullptr) {
    const std::string what = fallback != nullptr ? std::string(fallback->name)
                                                 : absl::StrCat("id ", static_cast<uint32_t>(o.fallback));
    return absl::InvalidArgumentError(absl::StrCat("fallback type ", what, " must be f32, f16 or bf16"));
  }
  return absl::OkStatus();
}

Format matrix_format(int64_t row_length, Format target, Format fallback) {
  return row_length % kernels::find_format(target)->block_elems == 0 ? target : fallback;
}

absl::StatusOr<RequantizedTensor> requantize_tensor(const ModelTensor& t, const RequantizeOptions& o) {
  RequantizedTensor out{t, nullptr, TensorReport{t.name, t.format, t.format, t.bytes, t.bytes, std::nullopt, ""}};
  Plan p = plan(t, o);
  out.report.note = std::move(p.note);
  if (p.convert) QUANTD_RETURN_IF_ERROR(convert(t, *kernels::find_format(p.format), o, &out));
  return out;
}

bool glob_match(const std::string& pattern, const std::string& text) {
  // Iterative matcher with backtracking to the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace quantd::model
