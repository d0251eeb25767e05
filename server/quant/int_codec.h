// Internal: the arithmetic of the integer schemes, shared by quantize, dequantize,
// fake-quant and the MSE search so that all four compute exactly the same values.
#pragma once

#include <algorithm>
#include <cstdint>

#include "server/quant/scheme.h"

namespace quantd::quant::internal {

struct IntParams {
  float scale = 1;
  int32_t zero_point = 0;
};

// Codes of a scheme: [-127, 127], [0, 255], [-7, 7] or [0, 15].
struct CodeRange {
  int qmin, qmax;
};
CodeRange code_range(Scheme s);

// (scale, zero point) for the calibrated range [lo, hi] (see scheme.h for the rules).
IntParams params_for_range(Scheme s, float lo, float hi);

// One slice's parameters in the form the loops want: x * inv clamped to [vmin, vmax]
// (the code range shifted by -zero_point) then rounded gives q - zero_point.
struct SliceCodec {
  float scale, inv, vmin, vmax;
  int32_t zp;
};
SliceCodec make_codec(Scheme s, IntParams p);

// Round half to even for |v| < 2^22, exactly std::nearbyint in the default rounding mode:
// adding 1.5 * 2^23 leaves no fraction bits, so the FPU rounds (to even). Unlike nearbyint
// this vectorizes without SSE4.1. Needs strict float semantics (no -ffast-math).
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  return (v + kMagic) - kMagic;
}

// q - zero_point as a float holding an integer. x is finite, so x * inv is finite or +-inf,
// never NaN, and the clamp brings it into the code range before rounding.
inline float shifted_code(float x, float inv, float vmin, float vmax) {
  return round_half_even(std::min(std::max(x * inv, vmin), vmax));
}

// Parameter sources for the run loops: one codec for a whole run, or one per element.
// shifted(o) views the same parameters from element o on (for a segment of a row).
struct ConstParams {
  SliceCodec c;
  ConstParams shifted(int64_t) const { return *this; }
  float scale(int64_t) const { return c.scale; }
  float inv(int64_t) const { return c.inv; }
  float vmin(int64_t) const { return c.vmin; }
  float vmax(int64_t) const { return c.vmax; }
  int32_t zp(int64_t) const { return c.zp; }
};
struct ElemParams {
  const float* scale_;
  const float* inv_;
  const float* vmin_;
  const float* vmax_;
  const int32_t* zp_;
  ElemParams shifted(int64_t o) const {
    return {scale_ + o, inv_ + o, vmin_ + o, vmax_ + o, zp_ + o};
  }
  float scale(int64_t j) const { return scale_[j]; }
  float inv(int64_t j) const { return inv_[j]; }
  float vmin(int64_t j) const { return vmin_[j]; }
  float vmax(int64_t j) const { return vmax_[j]; }
  int32_t zp(int64_t j) const { return zp_[j]; }
};

// One byte per code: two's complement for symmetric schemes, unsigned otherwise.
template <class P>
void encode_run(const float* x, int64_t n, const P& p, uint8_t* codes) {
  for (int64_t j = 0; j < n; ++j) {
    const int q = static_cast<int>(shifted_code(x[j], p.inv(j), p.vmin(j), p.vmax(j))) + p.zp(j);
    codes[j] = static_cast<uint8_t>(q);
  }
}

template <bool kSigned, class P>
void decode_run(const uint8_t* codes, int64_t n, const P& p, float* out) {
  for (int64_t j = 0; j < n; ++j) {
    const int q =
        kSigned ? static_cast<int>(static_cast<int8_t>(codes[j])) : static_cast<int>(codes[j]);
    out[j] = static_cast<float>(q - p.zp(j)) * p.scale(j);
  }
}

// decode(encode(x)) without the bytes: float(q - zp) * scale is the same product.
template <class P>
void fake_run(const float* x, int64_t n, const P& p, float* out) {
  for (int64_t j = 0; j < n; ++j) {
    out[j] = shifted_code(x[j], p.inv(j), p.vmin(j), p.vmax(j)) * p.scale(j);
  }
}

// Sum of squared errors of fake_run, in double, in a fixed order (four lanes).
double squared_error_run(const float* x, int64_t n, const SliceCodec& c);

}  // namespace quantd::quant::internal
