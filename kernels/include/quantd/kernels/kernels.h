// The kernel table: per format, quantize / dequantize / dot product for one instruction set.
//
// One table per ISA. The best one this CPU supports is chosen once, on first use, and can be
// forced with QUANTD_ISA=scalar|avx2|avx512|avx512_vnni|neon|neon_dotprod (refused if the CPU
// lacks it).
// Every table computes exactly what the scalar reference computes: the same bytes for
// quantize, the same floats for dequantize, and the same float for vec_dot, because every
// implementation sums in the same fixed order (see kernels/reference/README.md).
//
// Input policy: values must be finite. Callers check with first_non_finite(); a NaN or Inf
// passed anyway gives unspecified codes but never touches memory outside the row.
// Thread safety: tables are immutable after selection; all functions are reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantd/kernels/formats.h"

namespace quantd::kernels {

// Kernel paths, slower to faster within an architecture. kAvx512 is AVX-512 F/BW/VL/DQ
// without VNNI; kAvx512Vnni adds the VPDPBUSD block dots. Names: "scalar", "avx2", "avx512",
// "avx512_vnni", "neon", "neon_dotprod".
enum class Isa : uint8_t { kScalar, kAvx2, kAvx512, kAvx512Vnni, kNeon, kNeonDotprod };

std::string_view isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);

// n is the number of values; for block formats a multiple of the format's block_elems.
using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
using DequantizeRowFn = void (*)(const void* x, float* y, int64_t n);
// Dot product of a row x in the format with a row y in its vec_dot_partner format.
using VecDotFn = float (*)(int64_t n, const void* x, const void* y);
// The dots of one row x with ny partner rows: out[j * out_stride] = vec_dot(n, x, y + j * y_stride),
// bit for bit. For batched products (prompt processing): a SIMD table unpacks x once into
// `scratch` (kVecDotBatchScratchPerBlock bytes per block, 32-byte aligned) and then spends
// fewer instructions per block pair. Precondition: the y rows come from the partner format's
// quantize_row, whose codes are never -128; that lets the signed formats multiply with a sign
// trick a -128 code would overflow.
using VecDotBatchFn = void (*)(int64_t n, const void* x, const void* y, size_t y_stride, int64_t ny, float* out,
                               int64_t out_stride, void* scratch);
inline constexpr size_t kVecDotBatchScratchPerBlock = 72;

struct FormatKernels {
  QuantizeRowFn quantize_row = nullptr;
  DequantizeRowFn dequantize_row = nullptr;
  VecDotFn vec_dot = nullptr;  // null for activation-only formats (q8_1)
  VecDotBatchFn vec_dot_batch = nullptr;  // optional; without it, batches loop over vec_dot
};

struct KernelTable {
  Isa isa = Isa::kScalar;
  std::array<FormatKernels, kMaxFormatId> by_id{};

  const FormatKernels& operator[](Format f) const { return by_id[static_cast<uint32_t>(f)]; }
  FormatKernels& operator[](Format f) { return by_id[static_cast<uint32_t>(f)]; }
};

// The table in use. Chosen on first call; aborts with a message if QUANTD_ISA names an ISA
// this build or CPU cannot run (call select_kernels() first to handle that gracefully).
const KernelTable& kernels();

// Chooses the active table (from QUANTD_ISA when set, else the best supported) and runs a
// known-answer self-check on it. Returns an error message, or "" on success. Idempotent.
std::string select_kernels();

// The table for one ISA, or nullptr when it is not compiled in or this CPU lacks it.
const KernelTable* kernels_for(Isa isa);

// Every ISA this build and this CPU can run, from the reference upward.
std::vector<Isa> supported_isas();

// Index of the first NaN or Inf in x[0..n), or -1 when all are finite.
int64_t first_non_finite(const float* x, int64_t n);

}  // namespace quantd::kernels
