// GEMV and GEMM over quantized weights against a plain float product of the dequantized
// weights and activations, for 1 and 2 threads and row counts the thread count does not divide;
// every output also equals the table's vec_dot exactly (batches use vec_dot_batch).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quantd/kernels/matmul.h"

namespace quantd::kernels {
namespace {

struct Case {
  Format format;
  int64_t rows;
  int64_t cols;
  int64_t batch;
};

class MatmulTest : public ::testing::TestWithParam<Isa> {};

TEST_P(MatmulTest, MatchesFloatProduct) {
  const KernelTable& k = *kernels_for(GetParam());
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const FormatInfo& f : all_formats()) {
    if (k[f.format].vec_dot == nullptr) continue;
    for (Case c : {Case{f.format, 1, 64, 1}, Case{f.format, 7, 96, 1}, Case{f.format, 33, 256, 3},
                   Case{f.format, 65, 128, 8}}) {
      std::vector<float> w(c.rows * c.cols), x(c.batch * c.cols);
      for (float& v : w) v = normal(rng);
      for (float& v : x) v = normal(rng);
      const size_t row = row_bytes(f, c.cols);
      std::vector<uint8_t> wq(row * c.rows);
      for (int64_t r = 0; r < c.rows; ++r) k[f.format].quantize_row(&w[r * c.cols], &wq[r * row], c.cols);

      // The float product of what the kernels actually see: dequantized weights and
      // activations rounded through the partner format.
      const FormatInfo& p = *find_format(f.vec_dot_partner);
      std::vector<float> wd(w.size()), xd(x.size());
      for (int64_t r = 0; r < c.rows; ++r) k[f.format].dequantize_row(&wq[r * row], &wd[r * c.cols], c.cols);
      const size_t xrow = row_bytes(p, c.cols);
      std::vector<uint8_t> xq(xrow * c.batch);
      for (int64_t b = 0; b < c.batch; ++b) {
        k[p.format].quantize_row(&x[b * c.cols], &xq[b * xrow], c.cols);
        k[p.format].dequantize_row(&xq[b * xrow], &xd[b * c.cols], c.cols);
      }

      const WeightMatrix m{f.format, wq.data(), c.rows, c.cols};
      std::vector<float> y1(c.batch * c.rows), y2(c.batch * c.rows);
      matmul(k, m, x.data(), c.batch, y1.data(), 1);
      matmul(k, m, x.data(), c.batch, y2.data(), 2);
      // Rows are split across threads, never a single dot: the thread count changes nothing.
      ASSERT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)), 0) << f.name;
      for (int64_t b = 0; b < c.batch; ++b) {
        for (int64_t r = 0; r < c.rows; ++r) {
          // Batched or not, each output is exactly the table's vec_dot.
          const float dot = k[f.format].vec_dot(c.cols, &wq[r * row], &xq[b * xrow]);
          ASSERT_EQ(std::memcmp(&dot, &y1[b * c.rows + r], sizeof dot), 0) << f.name << " row " << r << " batch " << b;
          double want = 0, mag = 0;
          for (int64_t i = 0; i < c.cols; ++i) {
            want += static_cast<double>(wd[r * c.cols + i]) * xd[b * c.cols + i];
            mag += std::fabs(static_cast<double>(wd[r * c.cols + i]) * xd[b * c.cols + i]);
          }
          // Float summation error: a few ulps of the sum of magnitudes per term.
          double tol = 1e-6 * mag * std::sqrt(static_cast<double>(c.cols)) + 1e-6;
          if (p.format == Format::kQ8_1) {
            // The offset formats use q8_1's s = d * sum(q), stored in fp16 (relative error
            // 2^-11): each block adds up to |m| * |s| * 2^-11, m being the block minimum.
            for (int64_t i0 = 0; i0 < c.cols; i0 += f.block_elems) {
              double m = wd[r * c.cols + i0], s = 0;
              for (int64_t i = i0; i < i0 + f.block_elems; ++i) {
                m = std::min(m, static_cast<double>(wd[r * c.cols + i]));
                s += xd[b * c.cols + i];
              }
              tol += std::fabs(m * s) * 0x1p-10;
            }
          }
          ASSERT_NEAR(y1[b * c.rows + r], want, tol) << f.name << " row " << r << " batch " << b;
        }
      }
      if (c.batch == 1) {
        std::vector<float> yv(c.rows);
        matvec(k, m, x.data(), yv.data(), 2);
        ASSERT_EQ(std::memcmp(yv.data(), y1.data(), yv.size() * sizeof(float)), 0) << f.name;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllSupported, MatmulTest, ::testing::ValuesIn(supported_isas()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

}  // namespace
}  // namespace quantd::kernels
