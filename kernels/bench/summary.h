// A console reporter that also keeps every run's figures, then prints a markdown summary:
// per op and format, SIMD vs scalar on the L2 row and GB/s on the large row against the memory
// reference, then matvec / matmul weight bandwidth. Runs filtered out show as "-".
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace quantd::bench {

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter() : benchmark::ConsoleReporter(OO_Tabular) {}

  // Prints the runs (of repeated benchmarks only the median) and keeps their figures.
  void ReportRuns(const std::vector<Run>& runs) override;
  // Prints nothing when no benchmark ran (e.g. --benchmark_list_tests).
  void PrintSummary(std::ostream& out) const;

 private:
  struct Figures {
    double seconds = 0;           // per iteration, on the clock the benchmark is timed by
    double bytes_per_second = 0;  // read + written
    double cycles_per_32 = 0;     // 0 when not measured
    double min_cycles_per_32 = 0; // of the fastest call; 0 when not measured
    double cpu_bytes_per_second = 0;  // matrix products with 1 thread: per CPU second
    bool median = false;          // from the median of repetitions, else a single run
  };
  // Per benchmark name (without the /real_time suffix): the median of its repetitions, else
  // its fastest run.
  std::map<std::string, Figures> best_;

  const Figures* find(const std::string& name) const;
};

}  // namespace quantd::bench
