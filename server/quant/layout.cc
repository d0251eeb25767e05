#include "server/quant/layout.h"

#include <algorithm>

namespace quantd::quant::internal {

int normalize_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

Slicing make_slicing(std::span<const int64_t> shape, Granularity g, int axis, int64_t group_size) {
  Slicing s;
  s.n = 1;
  for (int64_t d : shape) s.n *= d;
  switch (g) {
    case Granularity::kPerChannel: {
      const int a = normalize_axis(axis, static_cast<int>(shape.size()));
      s.kind = Slicing::Kind::kChannel;
      s.channels = shape[a];
      for (int i = 0; i < a; ++i) s.outer *= shape[i];
      for (size_t i = a + 1; i < shape.size(); ++i) s.inner *= shape[i];
      s.slices = s.channels;
      break;
    }
    case Granularity::kPerGroup:
      s.kind = Slicing::Kind::kGroup;
      s.group = group_size;
      s.slices = s.n / group_size;
      break;
    default:
      s.kind = Slicing::Kind::kTensor;
      s.slices = 1;
      break;
  }
  return s;
}

void gather_slice(const float* x, const Slicing& s, int64_t slice, float* out) {
  if (s.contiguous()) {
    const int64_t len = s.n / s.slices;
    std::copy(x + s.slice_begin(slice), x + s.slice_begin(slice) + len, out);
    return;
  }
  for (int64_t o = 0; o < s.outer; ++o) {
    const float* run = x + (o * s.channels + slice) * s.inner;
    std::copy(run, run + s.inner, out + o * s.inner);
  }
}

}  // namespace quantd::quant::internal
