// Quantize and dequantize whole tensors of floats with any scheme and granularity.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"
#include "quantd/kernels/kernels.h"
#include "server/quant/error_stats.h"
#include "server/quant/scheme.h"

namespace quantd::quant {

// Checks spec against shape: dims positive, element count without overflow, axis in range,
// group size dividing the last axis, last axis a multiple of 32 for block schemes, percentile
// in (0, 100]. INVALID_ARGUMENT naming the field otherwise.
absl::Status validate(std::span<const int64_t> shape, const QuantSpec& spec);

// Element count of a validated shape.
int64_t element_count(std::span<const int64_t> shape);

// x holds element_count(shape) finite values (checked: INVALID_ARGUMENT with the first bad index).
absl::StatusOr<QuantizedTensor> quantize(const kernels::KernelTable& k, const float* x,
                                         std::span<const int64_t> shape, const QuantSpec& spec,
                                         int threads);

// Checks q's sizes (data bytes, scale and zero-point counts, zero points in range) before
// reading it: INVALID_ARGUMENT for truncated or inconsistent data. out holds element_count.
absl::Status dequantize(const kernels::KernelTable& k, const QuantizedTensor& q, float* out,
                        int threads);

}  // namespace quantd::quant
