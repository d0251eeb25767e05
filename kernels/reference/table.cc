// The reference table: every entry, scalar.
#include "internal/reference.h"
#include "internal/tables.h"

namespace quantd::kernels {

void fill_reference_table(KernelTable* t) {
  t->isa = Isa::kScalar;
  (*t)[Format::kF32] = {ref::quantize_row_f32, ref::dequantize_row_f32, ref::vec_dot_f32_f32};
  (*t)[Format::kF16] = {ref::quantize_row_f16, ref::dequantize_row_f16, ref::vec_dot_f16_f32};
  (*t)[Format::kBF16] = {ref::quantize_row_bf16, ref::dequantize_row_bf16, ref::vec_dot_bf16_f32};
  (*t)[Format::kQ4_0] = {ref::quantize_row_q4_0, ref::dequantize_row_q4_0, ref::vec_dot_q4_0_q8_0};
  (*t)[Format::kQ4_1] = {ref::quantize_row_q4_1, ref::dequantize_row_q4_1, ref::vec_dot_q4_1_q8_1};
  (*t)[Format::kQ5_0] = {ref::quantize_row_q5_0, ref::dequantize_row_q5_0, ref::vec_dot_q5_0_q8_0};
  (*t)[Format::kQ5_1] = {ref::quantize_row_q5_1, ref::dequantize_row_q5_1, ref::vec_dot_q5_1_q8_1};
  (*t)[Format::kQ8_0] = {ref::quantize_row_q8_0, ref::dequantize_row_q8_0, ref::vec_dot_q8_0_q8_0};
  (*t)[Format::kQ8_1] = {ref::quantize_row_q8_1, ref::dequantize_row_q8_1, nullptr};
}

}  // namespace quantd::kernels
