// The benchmark families of kernel_bench, registered at run time (the ISAs are known only then).
#pragma once

namespace quantd::bench {

// bandwidth/read/<floats>, bandwidth/read_4streams/<floats> and bandwidth/copy/<bytes>: the
// memory reference for the kernels.
void register_bandwidth_benchmarks();
// <op>/<format>/<isa>/<values> for op in quantize, dequantize, vec_dot.
void register_kernel_benchmarks();
// matvec/... and matmul/...: kernels::matmul over a 4096 x 4096 weight matrix, 1 and 2 threads.
void register_matmul_benchmarks();

}  // namespace quantd::bench
