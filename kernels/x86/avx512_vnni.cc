// AVX-512 VNNI kernels: the integer block dots with VPDPBUSD, which sums four byte products
// straight into int32. Compiled with the AVX-512 flags plus -mavx512vnni; the table is
// avx512's (avx512.cc) with these dots on top, chosen only on CPUs that report AVX512_VNNI.
//
// Exactness: exact integer block sums, each block's term computed as block_term_* computes it
// (x86_blocks.h) and added to lane b % 4. Only intrinsics, anonymous-namespace functions and
// out-of-line ref:: functions are called here (see avx2.cc for why).
//
// Not run on hardware during development (AMD Zen 3 has no AVX-512): checked there only
// against a scalar emulation of the intrinsics used. The ISA tests (kernels_isa_avx512_vnni)
// check it on any CPU that has it.

// GCC bug 105593, as in avx512.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "internal/reference.h"
#include "internal/tables.h"
#include "x86/x86_blocks.h"

namespace quantd::kernels {
namespace {

// --- Block dots with VNNI ---------------------------------------------------------------------
//
// A zmm holds two blocks (bytes 0-31 block b, 32-63 block b + 1, each in value order), so
// VPDPBUSD leaves block b's sum in int32 lanes 0-7 and block b + 1's in lanes 8-15. Eight
// blocks (four zmm) are folded to eight exact sums, converted together, and turned into the
// float terms block_term_* computes: blocks b..b+3 go to accumulator lanes 0-3 first, then
// b+4..b+7, as the reference adds them. Up to seven tail blocks use the reference's terms.

// The 64 bytes of two blocks' 32-byte code arrays.
__m512i load_two(const int8_t* first, const int8_t* second) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(first));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(second));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// The four-bit codes of two blocks in value order: each 16-byte qs is loaded into two 128-bit
// chunks, the second of which is shifted right by 4 (low nibbles are values 0-15, high 16-31).
__m512i unpack_nibbles_two(const uint8_t* qs0, const uint8_t* qs1) {
  const __m256i a = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0)));
  const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1)));
  const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  const __m512i shifted = _mm512_srlv_epi64(both, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4));
  return _mm512_and_si512(shifted, _mm512_set1_epi8(0x0f));
}

// Bit j of the result is bit 4 of value j of the two blocks (bits 0-31: first block).
__mmask64 high_bits_two(const uint8_t* qh0, const uint8_t* qh1) {
  uint32_t h0, h1;
  std::memcpy(&h0, qh0, sizeof h0);
  std::memcpy(&h1, qh1, sizeof h1);
  return _cvtu64_mask64(static_cast<uint64_t>(h0) | (static_cast<uint64_t>(h1) << 32));
}

// The five-bit codes of two blocks in value order: + 16 where the high bit is set.
template <typename Block>
__m512i unpack_five_bits_two(const Block* x) {
  const __m512i low = unpack_nibbles_two(x[0].qs, x[1].qs);
  return _mm512_mask_add_epi8(low, high_bits_two(x[0].qh, x[1].qh), low, _mm512_set1_epi8(16));
}

// sum((q - bias) * y) per int32 lane for unsigned codes q and a bias that VPDPBUSD takes as an
// unsigned byte: q * y and bias * y are summed separately and subtracted, exact for any y.
__m512i dot_biased(__m512i q, __m512i bias, __m512i y) {
  const __m512i zero = _mm512_setzero_si512();
  return _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, q, y), _mm512_dpbusd_epi32(zero, bias, y));
}

// Lane k of the result is the exact sum of block k's eight int32 lanes, where v[i] holds blocks
// 2i (lanes 0-7) and 2i + 1 (lanes 8-15).
__m256i fold8_blocks(const __m512i v[4]) {
  // Per 128-bit chunk k: s0 holds four partial sums of block k, s1 of block k + 4.
  const __m512i s0 = _mm512_add_epi32(_mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i s1 = _mm512_add_epi32(_mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(3, 1, 3, 1)));
  // h chunk k: [s0[0]+s0[2], s1[0]+s1[2], s0[1]+s0[3], s1[1]+s1[3]].
  const __m512i h = _mm512_add_epi32(_mm512_unpacklo_epi32(s0, s1), _mm512_unpackhi_epi32(s0, s1));
  // g chunk k: [block k, block k + 4, block k, block k + 4].
  const __m512i g = _mm512_add_epi32(h, _mm512_shuffle_epi32(h, _MM_PERM_BADC));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, g));
}

// Dot supplies X and Y (block types), two(x, y) (the int32 partial sums of blocks x[0], x[1]
// against y[0], y[1]); the float terms are x86_blocks.h's block_terms and ref_term.
template <typename Dot>
float block_dot(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const typename Dot::X*>(vx);
  const auto* y = static_cast<const typename Dot::Y*>(vy);
  const int64_t nb = n / kBlockSize;
  __m128 acc = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    __m512i p[4];
    for (int k = 0; k < 4; ++k) p[k] = Dot::two(x + b + 2 * k, y + b + 2 * k);
    acc = add_terms8(acc, block_terms(x_scales(x + b, 8), y + b, 8, fold8_blocks(p)));
  }
  if (b + 4 <= nb) {
    const __m512i p[4] = {Dot::two(x + b, y + b), Dot::two(x + b + 2, y + b + 2), _mm512_setzero_si512(),
                          _mm512_setzero_si512()};
    acc = _mm_add_ps(acc, _mm256_castps256_ps128(block_terms(x_scales(x + b, 4), y + b, 4, fold8_blocks(p))));
    b += 4;
  }
  return finish_block_dot(acc, x, y, b, nb);
}

struct DotQ4_0 {
  using X = BlockQ4_0;
  using Y = BlockQ8_0;
  static __m512i two(const X* x, const Y* y) {
    return dot_biased(unpack_nibbles_two(x[0].qs, x[1].qs), _mm512_set1_epi8(8), load_two(y[0].qs, y[1].qs));
  }
};

struct DotQ5_0 {
  using X = BlockQ5_0;
  using Y = BlockQ8_0;
  static __m512i two(const X* x, const Y* y) {
    return dot_biased(unpack_five_bits_two(x), _mm512_set1_epi8(16), load_two(y[0].qs, y[1].qs));
  }
};

struct DotQ4_1 {
  using X = BlockQ4_1;
  using Y = BlockQ8_1;
  static __m512i two(const X* x, const Y* y) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_nibbles_two(x[0].qs, x[1].qs),
                               load_two(y[0].qs, y[1].qs));
  }
};

struct DotQ5_1 {
  using X = BlockQ5_1;
  using Y = BlockQ8_1;
  static __m512i two(const X* x, const Y* y) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_five_bits_two(x), load_two(y[0].qs, y[1].qs));
  }
};

struct DotQ8_0 {
  using X = BlockQ8_0;
  using Y = BlockQ8_0;
  // VPDPBUSD wants one unsigned operand: x + 128 (x ^ 0x80) times y, minus 128 * y. Exact for
  // any bytes, including -128.
  static __m512i two(const X* x, const Y* y) {
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512i x_plus_128 = _mm512_xor_si512(load_two(x[0].qs, x[1].qs), bias);
    return dot_biased(x_plus_128, bias, load_two(y[0].qs, y[1].qs));
  }
};

float vec_dot_q4_0_q8_0_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ4_0>(n, x, y); }
float vec_dot_q4_1_q8_1_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ4_1>(n, x, y); }
float vec_dot_q5_0_q8_0_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ5_0>(n, x, y); }
float vec_dot_q5_1_q8_1_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ5_1>(n, x, y); }
float vec_dot_q8_0_q8_0_avx512_vnni(int64_t n, const void* x, const void* y) { return block_dot<DotQ8_0>(n, x, y); }

}  // namespace

void fill_avx512_vnni_table(KernelTable* t) {
  (*t)[Format::kQ4_0].vec_dot = vec_dot_q4_0_q8_0_avx512_vnni;
  (*t)[Format::kQ4_1].vec_dot = vec_dot_q4_1_q8_1_avx512_vnni;
  (*t)[Format::kQ5_0].vec_dot = vec_dot_q5_0_q8_0_avx512_vnni;
  (*t)[Format::kQ5_1].vec_dot = vec_dot_q5_1_q8_1_avx512_vnni;
  (*t)[Format::kQ8_0].vec_dot = vec_dot_q8_0_q8_0_avx512_vnni;
}

}  // namespace quantd::kernels
