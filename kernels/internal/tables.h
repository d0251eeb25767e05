// Per-ISA table builders (internal). Each starts from the table below it and replaces the
// entries it speeds up, so an ISA only carries code where it is faster.
#pragma once

#include "quantd/kernels/kernels.h"

namespace quantd::kernels {

void fill_reference_table(KernelTable* t);
// Defined only in builds that compile the ISA's file; dispatch.cc guards the calls.
void fill_avx2_table(KernelTable* t);
// AVX-512 without VNNI: the float dots; the integer dots stay those of AVX2.
void fill_avx512_table(KernelTable* t);
// On top of fill_avx512_table: the integer block dots with VPDPBUSD.
void fill_avx512_vnni_table(KernelTable* t);
void fill_neon_table(KernelTable* t);
void fill_neon_dotprod_table(KernelTable* t);

}  // namespace quantd::kernels
