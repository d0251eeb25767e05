// Re-quantization at load: dequantize each row to f32, quantize it to the target. Rows are
// independent, so OpenMP splits them; each thread keeps one f32 row of scratch.
#include "server/model/requantize.h"

#include <omp.h>

#include <atomic>
#include <limits>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"

namespace quantd::model {

kernels::Format load_format(const GgufTensor& t, kernels::Format target) {
  const auto own = static_cast<kernels::Format>(t.ggml_type);
  const bool is_float = own == kernels::Format::kF32 || own == kernels::Format::kF16 || own == kernels::Format::kBF16;
  if (!is_float || t.ne.size() < 2) return own;
  const kernels::FormatInfo* info = kernels::find_format(target);
  if (info == nullptr) return own;
  return t.ne[0] % info->block_elems == 0 ? target : kernels::Format::kF16;
}

absl::StatusOr<ConvertedTensor> convert_tensor(const GgufTensor& t, kernels::Format to, int threads) {
  const kernels::FormatInfo* src = kernels::find_format(t.ggml_type);
  const kernels::FormatInfo* dst = kernels::find_format(to);
  if (src == nullptr || dst == nullptr || t.ne.empty() || t.ne[0] % dst->block_elems != 0) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' cannot be converted"));
  }
  const kernels::KernelTable& table = kernels::kernels();
  const kernels::DequantizeRowFn dequantize = table[src->format].dequantize_row;
  const kernels::QuantizeRowFn quantize = table[dst->format].quantize_row;
  const int64_t n = t.ne[0];
  const int64_t rows = t.elements() / n;
  const size_t src_row = kernels::row_bytes(*src, n);
  const size_t dst_row = kernels::row_bytes(*dst, n);

  ConvertedTensor out;
  out.bytes = static_cast<uint64_t>(rows) * dst_row;  // <= source bytes * 2: no overflow
  out.data.reset(new (std::nothrow) uint8_t[out.bytes]);
  if (!out.data) {
    return absl::ResourceExhaustedError(absl::StrCat("tensor '", t.name, "': cannot allocate ", out.bytes,
                                                     " bytes for ", std::string(dst->name)));
  }
  // Block quantizers require finite input (kernels.h); float targets carry Inf/NaN through.
  const bool check_finite = dst->is_block_quantized;
  std::atomic<int64_t> bad_row{std::numeric_limits<int64_t>::max()};
  int64_t bad_col = -1;
  if (threads <= 0) threads = omp_get_max_threads();
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> row(static_cast<size_t>(n));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      dequantize(t.data + r * src_row, row.data(), n);
      if (check_finite) {
        const int64_t c = kernels::first_non_finite(row.data(), n);
        if (c >= 0) {
          int64_t prev = bad_row.load();
          while (r < prev && !bad_row.compare_exchange_weak(prev, r)) {
          }
          continue;
        }
      }
      quantize(row.data(), out.data.get() + r * dst_row, n);
    }
  }
  if (bad_row.load() != std::numeric_limits<int64_t>::max()) {
    const int64_t r = bad_row.load();
    std::vector<float> row(static_cast<size_t>(n));
    dequantize(t.data + r * src_row, row.data(), n);
    bad_col = kernels::first_non_finite(row.data(), n);
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' row ", r, " column ", bad_col, ": ",
                                                   row[bad_col], " cannot be quantized to ",
                                                   std::string(dst->name)));
  }
  return out;
}

}  // namespace quantd::model
