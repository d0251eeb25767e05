// Tensor-level quantization: what a client asks for (scheme, granularity, range calibration)
// and what it gets back. No protobuf here: server/service converts to and from the API.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace quantd::quant {

enum class Scheme {
  // ggml block formats (32 values per block along the last axis, fp16 scale per block).
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

bool is_block_scheme(Scheme s);
bool is_symmetric(Scheme s);
int bits_of(Scheme s);
std::string_view scheme_name(Scheme s);  // "q4_0", "int8_sym", ...

enum class Granularity {
  kPerTensor,   // one scale for the whole tensor
  kPerChannel,  // one scale per index along `axis`
  kPerGroup,    // one scale per `group_size` consecutive values of the last axis
  kPerBlock,    // the block formats' own 32-value blocks (the only one they accept)
};

enum class RangeMethod {
  kMinMax,      // the observed range
  kPercentile,  // clip to the p-th percentile of |x| (symmetric) or to [100-p, p] (asymmetric)
  kMse,         // grid over clipping ratios of the min-max range; keep the least squared error
};

struct QuantSpec {
  Scheme scheme = Scheme::kQ8_0;
  Granularity granularity = Granularity::kPerTensor;
  int axis = 0;                 // kPerChannel: channel axis, negative counts from the end
  int64_t group_size = 0;       // kPerGroup: divides the last dimension
  RangeMethod range = RangeMethod::kMinMax;
  double percentile = 99.9;     // kPercentile: in (0, 100]
  int mse_grid_points = 50;     // kMse: ratios 1, 1 - 1/(2n), ..., 0.5 (n + 1 candidates)
};

struct QuantizedTensor {
  Scheme scheme = Scheme::kQ8_0;
  std::vector<int64_t> shape;
  Granularity granularity = Granularity::kPerTensor;
  int axis = 0;                  // normalized (non-negative) for kPerChannel
  int64_t group_size = 0;
  // Block schemes: ggml blocks, row after row. Int8: one byte per value (int8_t when
  // symmetric, uint8_t when asymmetric). Int4: two values per byte, even index in the low
  // nibble (two's complement when symmetric); an odd count leaves the last high nibble 0.
  std::vector<uint8_t> data;
  std::vector<float> scales;         // int schemes: one per tensor / channel / group
  std::vector<int32_t> zero_points;  // asymmetric int schemes, one per scale
};

}  // namespace quantd::quant
