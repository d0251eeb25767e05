// Scalar conversions between float and binary16 / bfloat16, exact and portable.
//
// float -> half rounds to nearest even, overflows to infinity (|x| >= 65520) and keeps
// subnormals, as F16C's VCVTPS2PH and ARM's FCVT do. A NaN stays a NaN (quiet bit set,
// payload truncated). float -> bfloat16 rounds to nearest even and quiets NaNs, as ggml does.
// The widening conversions are exact.
#pragma once

#include <cstdint>
#include <cstring>

#include "quantd/kernels/formats.h"

namespace quantd::kernels {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float fp16_to_float(fp16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0));
  if (exp == 0) {
    // Subnormal or zero: mant * 2^-24 is exact in float.
    const float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return bits_float(sign | float_bits(v));
  }
  return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

inline fp16_t float_to_fp16(float f) {
  uint32_t u = float_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return static_cast<fp16_t>(sign | 0x7e00u | ((u >> 13) & 0x3ffu));
  if (u >= 0x477ff000u) return static_cast<fp16_t>(sign | 0x7c00u);  // rounds to inf
  if (u < 0x38800000u) {
    // Below the smallest normal half (2^-14): adding 0.5 leaves the value in units of 2^-24
    // in the low mantissa bits, rounded to nearest even by the FPU.
    const float v = bits_float(u) + 0.5f;
    return static_cast<fp16_t>(sign | (float_bits(v) - 0x3f000000u));
  }
  const uint32_t odd = (u >> 13) & 1u;
  u += 0xc8000000u + 0xfffu + odd;  // rebias exponent (-112 << 23) and round to nearest even
  return static_cast<fp16_t>(sign | (u >> 13));
}

inline float bf16_to_float(bf16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

inline bf16_t float_to_bf16(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((u >> 16) | 0x40u);
  return static_cast<bf16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace quantd::kernels
