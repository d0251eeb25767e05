// Tensor-level quantization: what a client asks for (scheme, granularity, range calibration)
// and what it gets back. No protobuf here: server/service converts to and from the API.
//
// Semantics (all of them checked by validate() in quantize.h):
//
// Block schemes (Q4_0 .. Q8_0): the ggml formats, applied along the last axis, which must be
//   a multiple of the format's block size (kernels::FormatInfo::block_elems: 32 for these).
//   Each block carries its own fp16 scale, so the only granularity
//   is kPerBlock; kPerTensor (QuantSpec's default) is accepted as an alias for it, so a
//   default-constructed QuantSpec is valid. kPerChannel and kPerGroup are rejected. The range
//   method is ignored (the kernels always use the block's own extremes) and its parameters
//   are not checked. Codes are exactly the kernel reference's (same bytes as ggml).
//
// Integer schemes: x ~ (q - zero_point) * scale with one (scale, zero_point) per slice, the
//   slice being the tensor, a channel or a group (see Granularity). kPerBlock is rejected.
//   From a slice's calibrated range [lo, hi]:
//   - symmetric: r = max(|lo|, |hi|), scale = r / Q (Q = 127 for int8, 7 for int4),
//     zero_point 0, q = clamp(round(x / scale), -Q, Q).
//   - asymmetric: the range is first extended to include 0 (so 0 is exactly representable),
//     scale = (hi - lo) / L (L = 255 for int8, 15 for int4), zero_point = round(-lo / scale)
//     clamped to [0, L], q = clamp(round(x / scale) + zero_point, 0, L).
//   - rounding is round half to even (std::nearbyint in the default mode); x / scale is
//     computed as x * (1 / scale), the same product in quantize, fake-quant and MSE search.
//   - a zero range (all values 0 in the slice) gives scale 1 and zero_point 0, so every code
//     is 0 and dequantizes to exact zeros. A non-zero range whose scale would fall below
//     FLT_MIN (the smallest normal float) gets scale FLT_MIN, so 1 / scale stays finite;
//     the error is then still at most scale / 2.
//
// Scalar tensors: shape [] (rank 0, one element) is accepted for the integer schemes with
//   kPerTensor; every other granularity and every block scheme needs at least one axis.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantd/kernels/formats.h"

namespace quantd::quant {

// Adding a scheme: a value here and its row in scheme.cc's table; nothing else in server/
// (a block scheme's block size, bytes and header come from its kernels::FormatInfo).
enum class Scheme {
  // ggml block formats (blocks along the last axis, fp16 scale per block).
  kQ4_0,
  kQ4_1,
  kQ5_0,
  kQ5_1,
  kQ8_0,
  // Integer schemes with float scales (and zero points when asymmetric).
  kInt8Symmetric,   // q in [-127, 127], x ~ q * scale (absmax)
  kInt8Asymmetric,  // q in [0, 255],    x ~ (q - zero_point) * scale
  kInt4Symmetric,   // q in [-7, 7]
  kInt4Asymmetric,  // q in [0, 15]
};

enum class SchemeKind {
  kBlock,  // a kernel block format: codes and scales in ggml blocks
  kInt,    // integer codes with float scales (and zero points) per slice
};

// One row per scheme: all that server/quant and the API mapping know about it.
struct SchemeInfo {
  Scheme scheme;
  std::string_view name;      // short name: metrics label, quantctl --scheme: "q4_0", "int8_sym"
  std::string_view api_name;  // the API's enum value name after "SCHEME_": "Q4_0", "INT8_SYMMETRIC"
  SchemeKind kind;
  kernels::Format format;     // kBlock: the blocks' kernel format (kF32 for kInt: unused)
  int bits;                   // bits per code
  bool symmetric;             // no offset: kInt zero point always 0; kBlock no m in the blocks
  int32_t qmin, qmax;         // kInt: the code range (0, 0 for kBlock)
};

// Every scheme, in enum order.
std::span<const SchemeInfo> all_schemes();
// nullptr when s is not a Scheme value, or no scheme has that name / api_name.
const SchemeInfo* find_scheme(Scheme s);
const SchemeInfo* find_scheme(std::string_view name);
const SchemeInfo* find_scheme_by_api_name(std::string_view api_name);
// A block scheme's kernel format row; nullptr for int schemes and unknown values.
const kernels::FormatInfo* block_format_info(Scheme s);
// "q4_0, q4_1, ... or int4_asym" (api: "Q4_0, Q4_1, ..., INT4_ASYMMETRIC"), for messages.
std::string scheme_names(std::string_view last_separator = " or ");
std::string scheme_api_names(std::string_view last_separator = ", ");

bool is_block_scheme(Scheme s);
bool is_symmetric(Scheme s);             // int8_sym / int4_sym only (false for block schemes)
int bits_of(Scheme s);                   // 4, 5 or 8; 0 out of range
std::string_view scheme_name(Scheme s);  // "q4_0", "int8_sym", ...; "unknown" out of range

enum class Granularity {
  kPerTensor,   // one scale for the whole tensor (block schemes: alias of kPerBlock)
  kPerChannel,  // one scale per index along `axis`: flat index i is in channel
                // (i / inner) % shape[axis], inner = product of the dims after axis
  kPerGroup,    // one scale per `group_size` consecutive values of the last axis:
                // flat index i is in group i / group_size
  kPerBlock,    // the block formats' own blocks (the only granularity they accept)
};
std::string_view granularity_name(Granularity g);  // "per_tensor", ...

enum class RangeMethod {
  kMinMax,      // the observed range
  kPercentile,  // clip to the p-th percentile of |x| (symmetric) or to the (100-p)-th and
                // p-th percentiles of x (asymmetric), per slice. Percentiles interpolate
                // linearly between order statistics (numpy's default): position
                // p/100 * (m - 1) in the sorted slice of m values. p = 100 is min-max.
  kMse,         // grid over clipping ratios of the min-max range; keep the least squared error
                // (per slice; ties keep the larger ratio, so never worse than min-max)
};
std::string_view range_method_name(RangeMethod r);  // "min_max", "percentile", "mse"

struct QuantSpec {
  Scheme scheme = Scheme::kQ8_0;
  Granularity granularity = Granularity::kPerTensor;
  int axis = 0;            // kPerChannel: channel axis, negative counts from the end
  int64_t group_size = 0;  // kPerGroup: divides the last dimension
  RangeMethod range = RangeMethod::kMinMax;
  double percentile = 99.9;  // kPercentile: in (0, 100]
  int mse_grid_points = 50;  // kMse: n in [1, 1000]; ratios 1, 1 - 1/(2n), ..., 0.5
                             // (n + 1 candidates)
};

struct QuantizedTensor {
  Scheme scheme = Scheme::kQ8_0;
  std::vector<int64_t> shape;
  Granularity granularity = Granularity::kPerTensor;  // quantize() writes kPerBlock for blocks
  int axis = 0;            // normalized (non-negative) for kPerChannel, else 0
  int64_t group_size = 0;  // kPerGroup only, else 0
  // Block schemes: ggml blocks, row after row. Int8: one byte per value (int8_t when
  // symmetric, uint8_t when asymmetric). Int4: two values per byte, even index in the low
  // nibble (two's complement when symmetric); an odd count leaves the last high nibble 0.
  std::vector<uint8_t> data;
  std::vector<float> scales;         // int schemes: one per tensor / channel / group, in
                                     // slice order; empty for block schemes (in the blocks)
  std::vector<int32_t> zero_points;  // asymmetric int schemes, one per scale; empty when
                                     // symmetric (dequantize also accepts all zeros there)
};

}  // namespace quantd::quant
