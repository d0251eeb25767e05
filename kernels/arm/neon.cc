// NEON (Armv8-A Advanced SIMD) kernels.
#include <arm_neon.h>

#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {

void fill_neon_table(KernelTable* t) { (void)t; }

}  // namespace quantd::kernels
