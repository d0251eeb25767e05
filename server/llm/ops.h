// The element-wise and per-head operations of the Llama forward pass, one function per op.
// The matrix products are not here: they go through kernels::matvec / kernels::matmul.
//
// All functions are pure over their arguments (no allocation, no threads), so the caller
// decides the parallel split and results do not depend on it.
#pragma once

#include <cstdint>

#include "quantd/kernels/kernels.h"
#include "quantd/kernels/matmul.h"

namespace quantd::llm::ops {

// out = x / sqrt(mean(x^2) + eps) * w. The sum of squares is accumulated in double, as ggml does.
void rmsnorm(const float* x, const float* w, int64_t n, float eps, float* out);

// Row `row` of an embedding table (n_embd values per row, any weight format), as floats.
void embedding_row(const kernels::KernelTable& k, const kernels::WeightMatrix& table, int64_t row, float* out);

// The rotation angles of one position: for pair i < n_rot / 2, theta = pos * base^(-2i / n_rot).
// Computed in double and rounded once, so a long context does not accumulate angle error.
void rope_angles(int64_t pos, int64_t n_rot, float base, float* cos_out, float* sin_out);

// Rotary embedding in place on n_heads consecutive heads of head_dim values: the first n_rot
// values of each head are rotated as adjacent pairs (x[2i], x[2i+1]) by angle i (ggml's "normal"
// mode, used by llama; also llama2.c's); the rest pass through.
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cos, const float* sin);

// Softmax in place over n values (max-subtracted, sum in double).
void softmax(float* x, int64_t n);

// One query head against positions [0, n_pos) of the cache: out = softmax(q.k / sqrt(d)) . v.
// Keys and values of position p start at k + p * stride and v + p * stride.
// scores needs n_pos floats of scratch.
void attention_head(const float* q, const float* k, const float* v, int64_t n_pos, int64_t stride,
                    int64_t head_dim, float* scores, float* out);

// SwiGLU: gate[i] = silu(gate[i]) * up[i].
void swiglu(float* gate, const float* up, int64_t n);

// x[i] += y[i] (the residual connection).
void add(float* x, const float* y, int64_t n);

}  // namespace quantd::llm::ops
