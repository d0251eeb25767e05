// validate() and element_count(): the only gate between untrusted requests and the loops,
// which assume everything checked here.
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "quantd/kernels/formats.h"
#include "server/common/status.h"
#include "server/quant/block_quant.h"
#include "server/quant/quantize.h"

namespace quantd::quant {
namespace {

constexpr int kMinGridPoints = 1;
constexpr int kMaxGridPoints = 1000;

bool known(Scheme s) { return find_scheme(s) != nullptr; }
bool known(Granularity g) {
  const int v = static_cast<int>(g);
  return v >= static_cast<int>(Granularity::kPerTensor) &&
         v <= static_cast<int>(Granularity::kPerBlock);
}
bool known(RangeMethod r) {
  const int v = static_cast<int>(r);
  return v >= static_cast<int>(RangeMethod::kMinMax) && v <= static_cast<int>(RangeMethod::kMse);
}

absl::Status check_shape(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape[", i, "] = ", shape[i], ": every dimension must be positive"));
    }
    if (count > std::numeric_limits<int64_t>::max() / shape[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape: element count overflows int64 at shape[", i, "] = ", shape[i],
                       " (product of the dimensions before it: ", count, ")"));
    }
    count *= shape[i];
  }
  return absl::OkStatus();
}

absl::Status check_block_scheme(std::span<const int64_t> shape, const QuantSpec& spec) {
  const absl::string_view name = sv(scheme_name(spec.scheme));
  const kernels::FormatInfo& info = *block_format_info(spec.scheme);
  if (spec.granularity != Granularity::kPerBlock && spec.granularity != Granularity::kPerTensor) {
    return absl::InvalidArgumentError(absl::StrCat(
        "granularity = ", sv(granularity_name(spec.granularity)), ": not valid for ", name,
        ", which has its own ", info.block_elems,
        "-value blocks; expected per_block (or per_tensor, its alias)"));
  }
  return internal::check_block_shape(shape, info, scheme_name(spec.scheme));
}

absl::Status check_int_granularity(std::span<const int64_t> shape, const QuantSpec& spec) {
  const int rank = static_cast<int>(shape.size());
  switch (spec.granularity) {
    case Granularity::kPerTensor:
      return absl::OkStatus();
    case Granularity::kPerBlock:
      return absl::InvalidArgumentError(
          absl::StrCat("granularity = per_block: only for the block schemes (q4_0 .. q8_0); ",
                       sv(scheme_name(spec.scheme)),
                       " expected per_tensor, per_channel or per_group"));
    case Granularity::kPerChannel:
      if (spec.axis < -rank || spec.axis >= rank) {
        return absl::InvalidArgumentError(
            absl::StrCat("axis = ", spec.axis, ": out of range for a rank-", rank,
                         " tensor; expected in [", -rank, ", ", rank - 1, "]"));
      }
      return absl::OkStatus();
    case Granularity::kPerGroup:
      if (rank == 0) {
        return absl::InvalidArgumentError(
            "shape: a scalar (rank 0) has no last axis to group; expected per_tensor");
      }
      if (spec.group_size <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("group_size = ", spec.group_size, ": must be positive for per_group"));
      }
      if (shape.back() % spec.group_size != 0) {
        return absl::InvalidArgumentError(absl::StrCat("group_size = ", spec.group_size,
                                                       ": must divide the last dimension shape[",
                                                       rank - 1, "] = ", shape.back()));
      }
      return absl::OkStatus();
  }
  return absl::InternalError("unreachable granularity");
}

absl::Status check_range(const QuantSpec& spec) {
  if (spec.range == RangeMethod::kPercentile &&
      !(spec.percentile > 0 && spec.percentile <= 100)) {  // also rejects NaN
    return absl::InvalidArgumentError(
        absl::StrCat("percentile = ", spec.percentile, ": expected in (0, 100]"));
  }
  if (spec.range == RangeMethod::kMse &&
      (spec.mse_grid_points < kMinGridPoints || spec.mse_grid_points > kMaxGridPoints)) {
    return absl::InvalidArgumentError(absl::StrCat("mse_grid_points = ", spec.mse_grid_points,
                                                   ": expected in [", kMinGridPoints, ", ",
                                                   kMaxGridPoints, "]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status validate(std::span<const int64_t> shape, const QuantSpec& spec) {
  if (!known(spec.scheme)) {
    return absl::InvalidArgumentError(absl::StrCat("scheme = ", static_cast<int>(spec.scheme),
                                                   ": unknown; expected ", scheme_names()));
  }
  if (!known(spec.granularity)) {
    return absl::InvalidArgumentError(
        absl::StrCat("granularity = ", static_cast<int>(spec.granularity),
                     ": unknown; expected per_tensor, per_channel, per_group or per_block"));
  }
  if (!known(spec.range)) {
    return absl::InvalidArgumentError(
        absl::StrCat("range = ", static_cast<int>(spec.range),
                     ": unknown; expected min_max, percentile or mse"));
  }
  QUANTD_RETURN_IF_ERROR(check_shape(shape));
  if (is_block_scheme(spec.scheme)) return check_block_scheme(shape, spec);
  QUANTD_RETURN_IF_ERROR(check_int_granularity(shape, spec));
  return check_range(spec);
}

int64_t element_count(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

}  // namespace quantd::quant
