// AVX2 + FMA + F16C kernels.
#include <immintrin.h>

#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {

void fill_avx2_table(KernelTable* t) { (void)t; }

}  // namespace quantd::kernels
