// Products of a quantized weight matrix with float activations, split over OpenMP threads.
//
// The activations are quantized once to the weight format's vec_dot partner (q8_0, q8_1 or f32),
// then every output is one vec_dot of a weight row with an activation row; for a batch, the
// table's vec_dot_batch (where it has one) computes the same floats with each weight row
// unpacked once. Rows are split
// statically across threads, so the result does not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quantd/kernels/formats.h"
#include "quantd/kernels/kernels.h"

namespace quantd::kernels {

// A row-major matrix of `rows` rows of `cols` values each, in `format`.
struct WeightMatrix {
  Format format = Format::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;  // multiple of the format's block size
};

// y[r] = dot(W[r, :], x) for r in [0, rows). x has cols values, y has rows.
void matvec(const KernelTable& k, const WeightMatrix& w, const float* x, float* y, int threads);

// Y[b, r] = dot(W[r, :], X[b, :]) for a batch of activation rows (prompt processing).
// X is batch x cols, Y is batch x rows, both row-major. Each weight row is read once for the
// whole batch.
void matmul(const KernelTable& k, const WeightMatrix& w, const float* x, int64_t batch, float* y,
            int threads);

}  // namespace quantd::kernels
