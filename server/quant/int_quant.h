// Internal: whole-tensor loops of the integer schemes (calibration is in range.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "server/quant/int_codec.h"
#include "server/quant/layout.h"
#include "server/quant/scheme.h"

namespace quantd::quant::internal {

// Bytes of the packed codes of n values: n for int8, ceil(n / 2) for int4.
uint64_t int_data_bytes(Scheme s, int64_t n);

// Codes of x (one (scale, zero point) per slice) packed as QuantizedTensor::data.
std::vector<uint8_t> quantize_int(Scheme scheme, const float* x, const Slicing& s,
                                  std::span<const IntParams> params, int threads);

// data has int_data_bytes(scheme, s.n) bytes; params one per slice. Writes s.n floats.
void dequantize_int(Scheme scheme, const uint8_t* data, const Slicing& s,
                    std::span<const IntParams> params, float* out, int threads);

// dequantize_int(quantize_int(x)) without the intermediate bytes.
void fake_quantize_int(Scheme scheme, const float* x, const Slicing& s,
                       std::span<const IntParams> params, float* out, int threads);

}  // namespace quantd::quant::internal
