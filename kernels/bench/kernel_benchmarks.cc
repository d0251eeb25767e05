// Every op x format x ISA this CPU runs, on an L2-resident row and on a row larger than the LLC.
//
// Names: <op>/<format>/<isa>/<values>, e.g. quantize/q4_0/avx2/65536. quantize of q8_0 and q8_1
// is the activation quantizer used by the matmul. f32 has only vec_dot: its quantize and
// dequantize are memcpy, measured by bandwidth/copy.
#include <string>
#include <vector>

#include "bench_data.h"
#include "benchmarks.h"
#include "quantd/kernels/kernels.h"

namespace quantd::bench {
namespace {

using kernels::FormatInfo;

void bm_quantize(benchmark::State& state, kernels::QuantizeRowFn fn, const FormatInfo* f, int64_t n) {
  const float* x = source_values(n, 0);
  void* y = output_buffer(kernels::row_bytes(*f, n));
  FastestCall fastest;
  const double start = thread_cpu_seconds();
  for (auto _ : state) {
    fastest.start();
    fn(x, y, n);
    benchmark::ClobberMemory();
    fastest.stop();
  }
  const double seconds = thread_cpu_seconds() - start;
  set_kernel_counters(state, n, n * 4 + static_cast<int64_t>(kernels::row_bytes(*f, n)), seconds, fastest);
}

void bm_dequantize(benchmark::State& state, kernels::DequantizeRowFn fn, const FormatInfo* f, int64_t n) {
  const void* x = row_in_format(f->format, n, 0);
  auto* y = static_cast<float*>(output_buffer(static_cast<size_t>(n) * sizeof(float)));
  FastestCall fastest;
  const double start = thread_cpu_seconds();
  for (auto _ : state) {
    fastest.start();
    fn(x, y, n);
    benchmark::ClobberMemory();
    fastest.stop();
  }
  const double seconds = thread_cpu_seconds() - start;
  set_kernel_counters(state, n, static_cast<int64_t>(kernels::row_bytes(*f, n)) + n * 4, seconds, fastest);
}

void bm_vec_dot(benchmark::State& state, kernels::VecDotFn fn, const FormatInfo* f, int64_t n) {
  const FormatInfo& partner = *kernels::find_format(f->vec_dot_partner);
  const void* x = row_in_format(f->format, n, 0);
  const void* y = row_in_format(partner.format, n, 1);
  FastestCall fastest;
  const double start = thread_cpu_seconds();
  for (auto _ : state) {
    fastest.start();
    float dot = fn(n, x, y);
    benchmark::DoNotOptimize(dot);
    fastest.stop();
  }
  const double seconds = thread_cpu_seconds() - start;
  set_kernel_counters(state, n, static_cast<int64_t>(kernels::row_bytes(*f, n) + kernels::row_bytes(partner, n)),
                      seconds, fastest);
}

}  // namespace

void register_kernel_benchmarks() {
  const std::vector<kernels::Isa> isas = kernels::supported_isas();
  for (int64_t n : {kL2Values, kLargeValues}) {
    for (const FormatInfo& f : kernels::all_formats()) {
      // ISAs innermost, so the scalar and SIMD runs of one op print next to each other.
      auto name = [&](const char* op, kernels::Isa isa) {
        return std::string(op) + "/" + std::string(f.name) + "/" + std::string(kernels::isa_name(isa)) + "/" +
               std::to_string(n);
      };
      auto table = [&](kernels::Isa isa) -> const kernels::FormatKernels& {
        return (*kernels::kernels_for(isa))[f.format];
      };
      if (f.format != kernels::Format::kF32) {
        for (kernels::Isa isa : isas)
          benchmark::RegisterBenchmark(name("quantize", isa).c_str(), bm_quantize, table(isa).quantize_row, &f, n);
        for (kernels::Isa isa : isas)
          benchmark::RegisterBenchmark(name("dequantize", isa).c_str(), bm_dequantize, table(isa).dequantize_row, &f, n);
      }
      for (kernels::Isa isa : isas) {
        if (table(isa).vec_dot == nullptr) continue;  // q8_1 is activation-only
        benchmark::RegisterBenchmark(name("vec_dot", isa).c_str(), bm_vec_dot, table(isa).vec_dot, &f, n);
      }
    }
  }
}

}  // namespace quantd::bench
