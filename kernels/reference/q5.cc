// Q5_0 and Q5_1: the low four bits of each code packed as in Q4, bit 4 of code i in bit i of qh.
#include <algorithm>
#include <cstring>

#include "internal/reference.h"
#include "quantd/kernels/fp16.h"

namespace quantd::kernels::ref {
namespace {

// Packs 32 five-bit codes.
void pack5(const int* q, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < kBlockSize / 2; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(qh_bytes, &qh, 4);
}

// Unpacks 32 five-bit codes.
void unpack5(const uint8_t* qs, const uint8_t* qh_bytes, int* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < kBlockSize / 2; ++j) {
    q[j] = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4);
    q[j + 16] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}

}  // namespace

void quantize_row_q5_0(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5_0*>(vy);
  for (int64_t b = 0; b < n / kBlockSize; ++b, x += kBlockSize) {
    const BlockScale s = block_scale(signed_absmax(x) / -16.0f);
    y[b].d = float_to_fp16(s.d);
    int q[kBlockSize] = {};
    if (!s.degenerate) {
      for (int j = 0; j < kBlockSize; ++j) q[j] = std::min(31, static_cast<int>(x[j] * s.id + 16.5f));
    }
    pack5(q, y[b].qs, y[b].qh);
  }
}

void quantize_row_q5_1(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5_1*>(vy);
  for (int64_t b = 0; b < n / kBlockSize; ++b, x += kBlockSize) {
    float min, max;
    block_min_max(x, &min, &max);
    const BlockScale s = block_scale((max - min) / 31.0f);
    y[b].d = float_to_fp16(s.d);
    y[b].m = float_to_fp16(min);
    int q[kBlockSize] = {};
    if (!s.degenerate) {
      // ggml does not clamp here: (max - min) * id + 0.5 stays below 32.
      for (int j = 0; j < kBlockSize; ++j) q[j] = static_cast<int>((x[j] - min) * s.id + 0.5f);
    }
    pack5(q, y[b].qs, y[b].qh);
  }
}

void dequantize_row_q5_0(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const float d = fp16_to_float(x[b].d);
    int q[kBlockSize];
    unpack5(x[b].qs, x[b].qh, q);
    for (int j = 0; j < kBlockSize; ++j) y[j] = static_cast<float>(q[j] - 16) * d;
  }
}

void dequantize_row_q5_1(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(vx);
  for (int64_t b = 0; b < n / kBlockSize; ++b, y += kBlockSize) {
    const float d = fp16_to_float(x[b].d);
    const float m = fp16_to_float(x[b].m);
    int q[kBlockSize];
    unpack5(x[b].qs, x[b].qh, q);
    for (int j = 0; j < kBlockSize; ++j) y[j] = static_cast<float>(q[j]) * d + m;
  }
}

float block_term_q5_0_q8_0(const BlockQ5_0& x, const BlockQ8_0& y) {
  int q[kBlockSize];
  unpack5(x.qs, x.qh, q);
  int32_t sum = 0;
  for (int j = 0; j < kBlockSize; ++j) sum += (q[j] - 16) * y.qs[j];
  return static_cast<float>(sum) * (fp16_to_float(x.d) * fp16_to_float(y.d));
}

float block_term_q5_1_q8_1(const BlockQ5_1& x, const BlockQ8_1& y) {
  int q[kBlockSize];
  unpack5(x.qs, x.qh, q);
  int32_t sum = 0;
  for (int j = 0; j < kBlockSize; ++j) sum += q[j] * y.qs[j];
  return (fp16_to_float(x.d) * fp16_to_float(y.d)) * static_cast<float>(sum) +
         fp16_to_float(x.m) * fp16_to_float(y.s);
}

float vec_dot_q5_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ5_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  float acc[kBlockLanes] = {};
  for (int64_t b = 0; b < n / kBlockSize; ++b) acc[b % kBlockLanes] += block_term_q5_0_q8_0(x[b], y[b]);
  return reduce_block_lanes(acc);
}

float vec_dot_q5_1_q8_1(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockQ5_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  float acc[kBlockLanes] = {};
  for (int64_t b = 0; b < n / kBlockSize; ++b) acc[b % kBlockLanes] += block_term_q5_1_q8_1(x[b], y[b]);
  return reduce_block_lanes(acc);
}

}  // namespace quantd::kernels::ref
