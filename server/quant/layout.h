// Internal: which values share a (scale, zero point) pair, for the integer schemes.
#pragma once

#include <cstdint>
#include <span>

#include "server/quant/scheme.h"

namespace quantd::quant::internal {

// A validated shape cut into slices. Slice s of each kind:
//   kTensor:  all n values (one slice).
//   kGroup:   values [s * group, (s + 1) * group).
//   kChannel: `outer` runs of `inner` contiguous values, run o starting at
//             (o * channels + s) * inner; flat index i is in channel (i / inner) % channels.
struct Slicing {
  enum class Kind { kTensor, kChannel, kGroup };
  Kind kind = Kind::kTensor;
  int64_t n = 0;
  int64_t slices = 1;
  int64_t outer = 1, channels = 1, inner = 1;  // kChannel
  int64_t group = 0;                           // kGroup

  // True when every slice is one contiguous range (so it can be read in place).
  bool contiguous() const { return kind != Kind::kChannel || outer == 1; }
  // Start of slice s when contiguous(); its length is n / slices.
  int64_t slice_begin(int64_t s) const {
    return kind == Kind::kChannel ? s * inner : s * (n / slices);
  }
};

// [-rank, rank) -> [0, rank); the caller has validated the axis.
int normalize_axis(int axis, int rank);

// shape, granularity, axis and group size must have passed validate().
Slicing make_slicing(std::span<const int64_t> shape, Granularity g, int axis, int64_t group_size);

// Copies slice s of x into out (n / slices values), for slices that are not contiguous.
void gather_slice(const float* x, const Slicing& s, int64_t slice, float* out);

}  // namespace quantd::quant::internal
