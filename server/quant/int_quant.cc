// The integer schemes' loops. Work is split into fixed chunks of flat indices (even-sized,
// so an int4 byte never straddles two threads); inside a chunk, runs of values sharing one
// slice's parameters go through the vectorizable loops of int_codec.h.
#include "server/quant/int_quant.h"

#include <algorithm>
#include <vector>

#include "server/quant/buffer.h"
#include "server/quant/parallel.h"

namespace quantd::quant::internal {
namespace {

static_assert(kChunkValues % 2 == 0, "int4 packing needs even chunks");

// Channel runs shorter than this are done row by row with per-element parameters, so the
// loops stay long (per-channel on the last axis has runs of one value).
constexpr int64_t kMinConstRun = 16;

// Per-element parameter arrays for one row (channels * inner values) of a channel slicing.
struct ExpandedRow {
  std::vector<float> scale, inv, vmin, vmax;
  std::vector<int32_t> zp;
  ExpandedRow() = default;
  ExpandedRow(Scheme scheme, const Slicing& s, std::span<const IntParams> params) {
    const size_t len = static_cast<size_t>(s.channels * s.inner);
    scale.resize(len), inv.resize(len), vmin.resize(len), vmax.resize(len), zp.resize(len);
    for (int64_t c = 0; c < s.channels; ++c) {
      const SliceCodec codec = make_codec(scheme, params[c]);
      for (int64_t k = 0; k < s.inner; ++k) {
        const size_t j = static_cast<size_t>(c * s.inner + k);
        scale[j] = codec.scale, inv[j] = codec.inv, vmin[j] = codec.vmin;
        vmax[j] = codec.vmax, zp[j] = codec.zp;
      }
    }
  }
  ElemParams params() const {
    return {scale.data(), inv.data(), vmin.data(), vmax.data(), zp.data()};
  }
};

bool uses_rows(const Slicing& s) {
  return s.kind == Slicing::Kind::kChannel && s.inner < kMinConstRun;
}

// What the loops need to walk a tensor: slicing, per-slice parameters (codecs are made per
// run, cheaper than storing them for millions of small groups), expanded channel rows.
struct Plan {
  Scheme scheme;
  const Slicing& s;
  std::span<const IntParams> params;
  ExpandedRow row;
  Plan(Scheme sc, const Slicing& sl, std::span<const IntParams> p)
      : scheme(sc), s(sl), params(p), row(uses_rows(sl) ? ExpandedRow(sc, sl, p) : ExpandedRow()) {}
  ConstParams slice(int64_t i) const { return ConstParams{make_codec(scheme, params[i])}; }
};

// Calls op(begin, len, params) for the runs covering [begin, end): params is a ConstParams
// for a run inside one slice, or an ElemParams for a segment of a channel row.
template <class Op>
void walk_runs(const Plan& plan, int64_t begin, int64_t end, Op&& op) {
  const Slicing& s = plan.s;
  switch (s.kind) {
    case Slicing::Kind::kTensor:
      op(begin, end - begin, plan.slice(0));
      return;
    case Slicing::Kind::kGroup:
      for (int64_t i = begin; i < end;) {
        const int64_t g = i / s.group;
        const int64_t e = std::min(end, (g + 1) * s.group);
        op(i, e - i, plan.slice(g));
        i = e;
      }
      return;
    case Slicing::Kind::kChannel:
      if (uses_rows(s)) {
        const int64_t len = s.channels * s.inner;
        const ElemParams p = plan.row.params();
        for (int64_t i = begin; i < end;) {
          const int64_t o = i / len;
          const int64_t e = std::min(end, (o + 1) * len);
          op(i, e - i, p.shifted(i - o * len));
          i = e;
        }
      } else {
        for (int64_t i = begin; i < end;) {
          const int64_t r = i / s.inner;
          const int64_t e = std::min(end, (r + 1) * s.inner);
          op(i, e - i, plan.slice(r % s.channels));
          i = e;
        }
      }
      return;
  }
}

// Calls chunk(begin, end) over fixed chunks of the tensor, in parallel.
template <class Chunk>
void for_each_chunk(int64_t n, int threads, Chunk&& chunk) {
  const int64_t chunks = ceil_div(n, kChunkValues);
#pragma omp parallel for schedule(static) num_threads(team_size(threads, n))
  for (int64_t c = 0; c < chunks; ++c) {
    chunk(c * kChunkValues, std::min(n, (c + 1) * kChunkValues));
  }
}

bool is_int4(Scheme s) { return bits_of(s) == 4; }  // two codes per byte

// Even index in the low nibble; a lone last value leaves the high nibble 0.
void pack_nibbles(const uint8_t* codes, int64_t n, uint8_t* data) {
  const int64_t pairs = n / 2;
  for (int64_t k = 0; k < pairs; ++k) {
    data[k] = static_cast<uint8_t>((codes[2 * k] & 0x0F) | (codes[2 * k + 1] << 4));
  }
  if (n % 2) data[pairs] = codes[n - 1] & 0x0F;
}

// One byte per code again; symmetric nibbles are sign-extended to int8.
void unpack_nibbles(const uint8_t* data, int64_t n, bool sign, uint8_t* codes) {
  const int ext = sign ? 8 : 0;  // (v ^ 8) - 8 sign-extends a 4-bit two's complement value
  const int64_t pairs = n / 2;
  for (int64_t k = 0; k < pairs; ++k) {
    codes[2 * k] = static_cast<uint8_t>(((data[k] & 0x0F) ^ ext) - ext);
    codes[2 * k + 1] = static_cast<uint8_t>(((data[k] >> 4) ^ ext) - ext);
  }
  if (n % 2) codes[n - 1] = static_cast<uint8_t>(((data[pairs] & 0x0F) ^ ext) - ext);
}

}  // namespace

uint64_t int_data_bytes(Scheme s, int64_t n) {
  const uint64_t u = static_cast<uint64_t>(n);
  return is_int4(s) ? u / 2 + u % 2 : u;
}

std::vector<uint8_t> quantize_int(Scheme scheme, const float* x, const Slicing& s,
                                  std::span<const IntParams> params, int threads) {
  const Plan plan(scheme, s, params);
  const bool int4 = is_int4(scheme);
  std::vector<uint8_t> data = make_output(int_data_bytes(scheme, s.n));
  for_each_chunk(s.n, threads, [&](int64_t begin, int64_t end) {
    // Int8: the codes are the data. Int4: one byte per code here, then packed.
    uint8_t tmp[kChunkValues];
    uint8_t* codes = int4 ? tmp : data.data() + begin;
    walk_runs(plan, begin, end, [&](int64_t b, int64_t len, const auto& p) {
      encode_run(x + b, len, p, codes + (b - begin));
    });
    if (int4) pack_nibbles(tmp, end - begin, data.data() + begin / 2);
  });
  return data;
}

void dequantize_int(Scheme scheme, const uint8_t* data, const Slicing& s,
                    std::span<const IntParams> params, float* out, int threads) {
  const Plan plan(scheme, s, params);
  const bool int4 = is_int4(scheme);
  const bool sign = is_symmetric(scheme);
  for_each_chunk(s.n, threads, [&](int64_t begin, int64_t end) {
    uint8_t tmp[kChunkValues];
    const uint8_t* codes = data + begin;
    if (int4) {
      unpack_nibbles(data + begin / 2, end - begin, sign, tmp);
      codes = tmp;
    }
    walk_runs(plan, begin, end, [&](int64_t b, int64_t len, const auto& p) {
      if (sign) {
        decode_run<true>(codes + (b - begin), len, p, out + b);
      } else {
        decode_run<false>(codes + (b - begin), len, p, out + b);
      }
    });
  });
}

void fake_quantize_int(Scheme scheme, const float* x, const Slicing& s,
                       std::span<const IntParams> params, float* out, int threads) {
  const Plan plan(scheme, s, params);
  for_each_chunk(s.n, threads, [&](int64_t begin, int64_t end) {
    walk_runs(plan, begin, end,
              [&](int64_t b, int64_t len, const auto& p) { fake_run(x + b, len, p, out + b); });
  });
}

}  // namespace quantd::quant::internal
