// The public entry points: validate, dispatch to the block or integer path, and check
// QuantizedTensor contents before any loop reads them.
#include "server/quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/quant/block_quant.h"
#include "server/quant/buffer.h"
#include "server/quant/int_codec.h"
#include "server/quant/int_quant.h"
#include "server/quant/layout.h"
#include "server/quant/parallel.h"
#include "server/quant/range.h"
#include "server/common/status.h"

namespace quantd::quant {
namespace {

using internal::IntParams;
using internal::Slicing;

// First flat index of a NaN or Inf, or -1: per chunk, the least over chunks.
int64_t first_non_finite(const float* x, int64_t n, int threads) {
  using internal::kChunkValues;
  const int64_t chunks = internal::ceil_div(n, kChunkValues);
  int64_t first = std::numeric_limits<int64_t>::max();
#pragma omp parallel for schedule(static) num_threads(internal::team_size(threads, n)) \
    reduction(min                                                                      \
              : first)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunkValues;
    const int64_t bad = internal::first_non_finite_in(x + b, std::min(kChunkValues, n - b));
    if (bad >= 0) first = std::min(first, b + bad);
  }
  return first == std::numeric_limits<int64_t>::max() ? -1 : first;
}

absl::Status check_finite(const float* x, int64_t n, int threads) {
  return internal::non_finite_error(x, first_non_finite(x, n, threads));
}

QuantSpec spec_of(const QuantizedTensor& q) {
  QuantSpec spec;
  spec.scheme = q.scheme;
  spec.granularity = q.granularity;
  spec.axis = q.axis;
  spec.group_size = q.group_size;
  return spec;  // range method is not part of q: min-max passes validate() trivially
}

// The QuantizedTensor header quantize() returns: shape and normalized granularity.
QuantizedTensor header_for(std::span<const int64_t> shape, const QuantSpec& spec) {
  QuantizedTensor q;
  q.scheme = spec.scheme;
  q.shape.assign(shape.begin(), shape.end());
  if (is_block_scheme(spec.scheme)) {
    q.granularity = Granularity::kPerBlock;
    return q;
  }
  q.granularity = spec.granularity;
  if (spec.granularity == Granularity::kPerChannel) {
    q.axis = internal::normalize_axis(spec.axis, static_cast<int>(shape.size()));
  }
  if (spec.granularity == Granularity::kPerGroup) q.group_size = spec.group_size;
  return q;
}

absl::Status check_data_size(const QuantizedTensor& q, uint64_t expected, int64_t n) {
  if (q.data.size() == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "data: ", q.data.size(), " bytes, expected ", expected, " for ", n, " values of ",
      sv(scheme_name(q.scheme)), " (truncated or corrupted)"));
}

// Scales and zero points of an int-scheme tensor, one per slice, as params.
absl::StatusOr<std::vector<IntParams>> read_params(const QuantizedTensor& q, int64_t slices) {
  const auto count = static_cast<size_t>(slices);
  if (q.scales.size() != count) {
    return absl::InvalidArgumentError(
        absl::StrCat("scales: ", q.scales.size(), " values, expected ", slices, " (one per ",
                     sv(granularity_name(q.granularity)), " slice)"));
  }
  const bool sym = is_symmetric(q.scheme);
  if (!(q.zero_points.size() == count || (sym && q.zero_points.empty()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("zero_points: ", q.zero_points.size(), " values, expected ", slices,
                     sym ? " or none (symmetric scheme)" : " (one per scale)"));
  }
  const internal::CodeRange range = internal::code_range(q.scheme);
  const int32_t zp_max = sym ? 0 : range.qmax;
  std::vector<IntParams> params(count);
  for (size_t i = 0; i < count; ++i) {
    const float s = q.scales[i];
    if (!std::isfinite(s) || !(s > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("scales[", i, "] = ", s, ": expected a finite positive scale"));
    }
    const int32_t zp = q.zero_points.empty() ? 0 : q.zero_points[i];
    if (zp < 0 || zp > zp_max) {
      return absl::InvalidArgumentError(absl::StrCat("zero_points[", i, "] = ", zp,
                                                     ": expected in [0, ", zp_max, "] for ",
                                                     sv(scheme_name(q.scheme))));
    }
    params[i] = {s, zp};
  }
  return params;
}

}  // namespace

absl::StatusOr<QuantizedTensor> quantize(const kernels::KernelTable& k, const float* x,
                                         std::span<const int64_t> shape, const QuantSpec& spec,
                                         int threads) {
  QUANTD_RETURN_IF_ERROR(validate(shape, spec));
  const int64_t n = element_count(shape);
  QuantizedTensor q = header_for(shape, spec);
  if (is_block_scheme(spec.scheme)) {
    QUANTD_ASSIGN_OR_RETURN(const internal::BlockFormat f, internal::block_format(k, spec.scheme));
    // Checks finiteness itself, chunk by chunk just before each kernel call.
    QUANTD_ASSIGN_OR_RETURN(q.data, internal::quantize_blocks(f, x, n, threads));
    return q;
  }
  QUANTD_RETURN_IF_ERROR(check_finite(x, n, threads));
  const Slicing slicing =
      internal::make_slicing(shape, spec.granularity, spec.axis, spec.group_size);
  const std::vector<IntParams> params = internal::calibrate(x, slicing, spec, threads);
  q.data = internal::quantize_int(spec.scheme, x, slicing, params, threads);
  q.scales.reserve(params.size());
  for (const IntParams& p : params) q.scales.push_back(p.scale);
  if (!is_symmetric(spec.scheme)) {
    q.zero_points.reserve(params.size());
    for (const IntParams& p : params) q.zero_points.push_back(p.zero_point);
  }
  return q;
}

absl::Status dequantize(const kernels::KernelTable& k, const QuantizedTensor& q, float* out,
                        int threads) {
  QUANTD_RETURN_IF_ERROR(validate(q.shape, spec_of(q)));
  const int64_t n = element_count(q.shape);
  if (is_block_scheme(q.scheme)) {
    if (!q.scales.empty() || !q.zero_points.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("scales / zero_points: ", q.scales.size(), " / ", q.zero_points.size(),
                       " values, expected none: ", sv(scheme_name(q.scheme)),
                       " keeps its scales in the blocks"));
    }
    QUANTD_ASSIGN_OR_RETURN(const internal::BlockFormat f, internal::block_format(k, q.scheme));
    QUANTD_RETURN_IF_ERROR(check_data_size(q, internal::block_data_bytes(*f.info, n), n));
    return internal::dequantize_blocks(f, q.data.data(), n, out, threads);
  }
  QUANTD_RETURN_IF_ERROR(check_data_size(q, internal::int_data_bytes(q.scheme, n), n));
  const Slicing slicing = internal::make_slicing(q.shape, q.granularity, q.axis, q.group_size);
  QUANTD_ASSIGN_OR_RETURN(const std::vector<IntParams> params, read_params(q, slicing.slices));
  internal::dequantize_int(q.scheme, q.data.data(), slicing, params, out, threads);
  return absl::OkStatus();
}

absl::Status fake_quantize(const kernels::KernelTable& k, const float* x,
                           std::span<const int64_t> shape, const QuantSpec& spec, float* out,
                           int threads, ErrorStats* stats) {
  if (is_block_scheme(spec.scheme)) {
    QUANTD_ASSIGN_OR_RETURN(const QuantizedTensor q, quantize(k, x, shape, spec, threads));
    QUANTD_RETURN_IF_ERROR(dequantize(k, q, out, threads));
  } else {
    // The int path needs no bytes: the same arithmetic straight into out.
    QUANTD_RETURN_IF_ERROR(validate(shape, spec));
    QUANTD_RETURN_IF_ERROR(check_finite(x, element_count(shape), threads));
    const Slicing slicing =
        internal::make_slicing(shape, spec.granularity, spec.axis, spec.group_size);
    const std::vector<IntParams> params = internal::calibrate(x, slicing, spec, threads);
    internal::fake_quantize_int(spec.scheme, x, slicing, params, out, threads);
  }
  if (stats != nullptr) *stats = compute_error_stats(x, out, element_count(shape), threads);
  return absl::OkStatus();
}

}  // namespace quantd::quant
