// AVX-512 (F/BW/VL/DQ, + VNNI when present) kernels.
#include <immintrin.h>

#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {

void fill_avx512_table(KernelTable* t, bool vnni) { (void)t; (void)vnni; }

}  // namespace quantd::kernels
