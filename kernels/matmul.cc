#include "quantd/kernels/matmul.h"

#include <omp.h>

#include <vector>

namespace quantd::kernels {
namespace {
struct alignas(32) ScratchUnit {
  uint8_t bytes[32];
};
}  // namespace

void matvec(const KernelTable& k, const WeightMatrix& w, const float* x, float* y, int threads) {
  matmul(k, w, x, 1, y, threads);
}

void matmul(const KernelTable& k, const WeightMatrix& w, const float* x, int64_t batch, float* y,
            int threads) {
  const FormatInfo& wf = *find_format(w.format);
  const FormatInfo& af = *find_format(wf.vec_dot_partner);
  const size_t w_row = row_bytes(wf, w.cols);
  const size_t a_row = row_bytes(af, w.cols);

  // Activations in the partner format, once for all rows. f32 partners are used as they are.
  std::vector<uint8_t> quantized;
  const uint8_t* act = reinterpret_cast<const uint8_t*>(x);
  if (af.format != Format::kF32) {
    quantized.resize(a_row * batch);
    for (int64_t b = 0; b < batch; ++b) k[af.format].quantize_row(x + b * w.cols, quantized.data() + b * a_row, w.cols);
    act = quantized.data();
  }

  const VecDotFn dot = k[w.format].vec_dot;
  const VecDotBatchFn dot_batch = batch > 1 ? k[w.format].vec_dot_batch : nullptr;
  const auto* weights = static_cast<const uint8_t*>(w.data);
  const int nthreads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nthreads)
  {
    // Where the table has a batched dot, each weight row is unpacked once for the whole batch.
    std::vector<ScratchUnit> scratch;
    if (dot_batch != nullptr) {
      const size_t bytes = static_cast<size_t>(w.cols / kBlockSize) * kVecDotBatchScratchPerBlock;
      scratch.resize((bytes + sizeof(ScratchUnit) - 1) / sizeof(ScratchUnit));
    }
#pragma omp for schedule(static)
    for (int64_t r = 0; r < w.rows; ++r) {
      const uint8_t* row = weights + r * w_row;
      if (dot_batch != nullptr) {
        dot_batch(w.cols, row, act, a_row, batch, y + r, w.rows, scratch.data());
      } else {
        for (int64_t b = 0; b < batch; ++b) y[b * w.rows + r] = dot(w.cols, row, act + b * a_row);
      }
    }
  }
}

}  // namespace quantd::kernels
