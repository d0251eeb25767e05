// kernel_bench: quantd's kernels per op x format x ISA, a memory-bandwidth reference and the
// matrix products, all in one run, then a markdown summary of same-run ratios (README.md).
#include <benchmark/benchmark.h>

#include <iostream>
#include <string>
#include <vector>

#include "bench_data.h"
#include "benchmarks.h"
#include "quantd/kernels/kernels.h"
#include "summary.h"

int main(int argc, char** argv) {
  // Defaults for a shared, noisy machine: three repetitions of 0.1 s each, interleaved at
  // random across all benchmarks so that a busy spell of a neighbour does not land on one ISA
  // only, summarised by their median. About two and a half minutes in all. They go before the
  // user's flags, so any of them given on the command line wins.
  std::vector<std::string> defaults = {
      "--benchmark_min_time=0.1",
      "--benchmark_repetitions=3",
      "--benchmark_enable_random_interleaving=true",
      "--benchmark_display_aggregates_only=true",
  };
  std::vector<char*> args(argv, argv + argc);
  for (std::string& d : defaults) args.insert(args.begin() + 1, d.data());
  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;

  using namespace quantd;
  std::string isas;
  for (kernels::Isa isa : kernels::supported_isas()) {
    if (!isas.empty()) isas += ',';
    isas += kernels::isa_name(isa);
  }
  benchmark::AddCustomContext("quantd_isas", isas);
  benchmark::AddCustomContext("tsc_ghz", std::to_string(bench::tsc_hz() / 1e9));

  bench::register_bandwidth_benchmarks();
  bench::register_kernel_benchmarks();
  bench::register_matmul_benchmarks();

  bench::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary(std::cout);
  benchmark::Shutdown();
  return 0;
}
