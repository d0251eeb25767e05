// Quantize and dequantize whole tensors of floats with any scheme and granularity.
// Semantics of the schemes, granularities and range methods: scheme.h.
//
// Threads: `threads` OpenMP threads (< 1 means 1, capped at 512) split blocks, chunks or
// slices of large tensors (from 32 Ki values); small ones run on the calling thread. Every
// result (codes, scales, zero points, error stats) is the same for any thread count:
// reductions are exact (min, max, counts) or summed over fixed chunks in index order.
//
// Cost: min-max and the block schemes are a few passes over the data. Percentile clipping
// selects exactly: slices under 1 Mi values are copied and nth_element'd; larger ones use a
// radix histogram and gather only the needed buckets (no copy). The MSE search costs
// (mse_grid_points + 1) quantize-dequantize passes, evaluated chunk by chunk in cache.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "quantd/kernels/kernels.h"
#include "server/quant/error_stats.h"
#include "server/quant/scheme.h"

namespace quantd::quant {

// Checks spec against shape, INVALID_ARGUMENT naming the field, the value and what was
// expected otherwise:
//   shape: rank 0 (a scalar) only for int schemes per tensor; dims > 0; element count
//          fits in int64.
//   scheme / granularity / range: known enum values; granularity valid for the scheme
//          (block schemes: kPerBlock or kPerTensor; int schemes: anything but kPerBlock).
//   block schemes: last dim a multiple of the format's block_elems (32 for q4_0 .. q8_0).
//   kPerChannel: axis in [-rank, rank).  kPerGroup: group_size > 0 dividing the last dim.
//   int schemes only: kPercentile: percentile in (0, 100]; kMse: mse_grid_points in
//          [1, 1000]. (Unused parameters are not checked.)
absl::Status validate(std::span<const int64_t> shape, const QuantSpec& spec);

// Element count of a validated shape (1 for a scalar).
int64_t element_count(std::span<const int64_t> shape);

// x holds element_count(shape) values, which must be finite (checked: INVALID_ARGUMENT
// with the first bad flat index). Block schemes also reject values whose block's fp16
// scale (or Q4_1/Q5_1 minimum) would overflow fp16 (|x| beyond ~65504 times the code range),
// naming the first such block. The result has a normalized granularity (kPerBlock for
// block schemes) and axis (non-negative).
absl::StatusOr<QuantizedTensor> quantize(const kernels::KernelTable& k, const float* x,
                                         std::span<const int64_t> shape, const QuantSpec& spec,
                                         int threads);

// Checks q before reading it, INVALID_ARGUMENT for truncated or inconsistent data: shape and
// granularity as validate(); data bytes; scale count (and every scale finite and > 0);
// zero-point count and range (empty or all zero for symmetric schemes); block schemes: no
// separate scales, and every fp16 scale / minimum in the blocks finite (on that error, out
// may be partly written). Codes themselves are not range-checked: every byte decodes.
// out holds element_count(q.shape) floats.
absl::Status dequantize(const kernels::KernelTable& k, const QuantizedTensor& q, float* out,
                        int threads);

// Quantize then dequantize into out (element_count(shape) floats): what a model sees when
// its weights go through `spec`. Same checks as quantize(). When stats is not null it
// receives the error of out against x.
absl::Status fake_quantize(const kernels::KernelTable& k, const float* x,
                           std::span<const int64_t> shape, const QuantSpec& spec, float* out,
                           int threads, ErrorStats* stats = nullptr);

}  // namespace quantd::quant
