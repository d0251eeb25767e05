// NEON with the Armv8.2 dot-product instructions (SDOT), compiled with
// -march=armv8.2-a+dotprod. Only the integer block dots change; everything else is neon.cc's.
//
// Nothing here may be emitted with external linkage but fill_neon_dotprod_table: a weak copy
// of a shared inline function compiled with +dotprod could be the one the linker keeps, and
// would then fault on a CPU without SDOT (see neon_blocks.h).
#include <arm_neon.h>

#include <cstdint>

#include "arm/neon_blocks.h"
#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {
namespace {

// SDOT adds four int8 products into each int32 lane: exact for any codes.
struct SdotDot {
  static int32x4_t full(int8x16_t x0, int8x16_t y0, int8x16_t x1, int8x16_t y1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), x0, y0), x1, y1);
  }
  static int32x4_t small(int8x16_t x0, int8x16_t y0, int8x16_t x1, int8x16_t y1) { return full(x0, y0, x1, y1); }
};

}  // namespace

void fill_neon_dotprod_table(KernelTable* t) {
  // The std::array accessor is inlined (-O3); scripts/test-arm64.sh checks that this object
  // defines no weak symbol.
  set_block_dots<SdotDot>(t);
}

}  // namespace quantd::kernels
