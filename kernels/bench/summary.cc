#include "summary.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "bench_data.h"
#include "quantd/kernels/kernels.h"

namespace quantd::bench {
namespace {

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

double counter(const benchmark::BenchmarkReporter::Run& run, const char* name) {
  auto it = run.counters.find(name);
  return it == run.counters.end() ? 0.0 : it->second.value;
}

}  // namespace

void SummaryReporter::ReportRuns(const std::vector<Run>& runs) {
  std::vector<Run> shown;
  for (const Run& run : runs) {
    const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
    if (run.run_type == Run::RT_Aggregate && !median) continue;  // mean, stddev, cv: JSON output only
    shown.push_back(run);
    if (run.error_occurred || run.iterations == 0) continue;
    const bool real = !run.run_name.time_type.empty();
    Figures f;
    f.seconds = (real ? run.real_accumulated_time : run.cpu_accumulated_time) / static_cast<double>(run.iterations);
    f.bytes_per_second = counter(run, "bytes_per_second");
    f.cycles_per_32 = counter(run, "cyc/32");
    f.min_cycles_per_32 = counter(run, "min_cyc/32");
    f.cpu_bytes_per_second = counter(run, "cpu_bytes_per_second");
    f.median = median;
    std::string name = run.run_name.str();
    if (real) name.resize(name.size() - run.run_name.time_type.size() - 1);
    auto [it, inserted] = best_.emplace(name, f);
    if (!inserted && (f.median > it->second.median || (f.median == it->second.median && f.seconds < it->second.seconds)))
      it->second = f;
  }
  if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
}

const SummaryReporter::Figures* SummaryReporter::find(const std::string& name) const {
  auto it = best_.find(name);
  return it == best_.end() ? nullptr : &it->second;
}

void SummaryReporter::PrintSummary(std::ostream& out) const {
  if (best_.empty()) return;
  using kernels::Isa;
  const std::vector<Isa> isas = kernels::supported_isas();
  // std::string(...) += ... rather than "..." + std::string: GCC 12 -O3 warns falsely (-Wrestrict)
  // on the latter.
  const std::string l2 = std::string("/") += std::to_string(kL2Values);
  const std::string large = std::string("/") += std::to_string(kLargeValues);
  const Figures* read1 = find(std::string("bandwidth/read/") += std::to_string(kLargeValues));
  const Figures* read4 = find(std::string("bandwidth/read_4streams/") += std::to_string(kLargeValues));
  const Figures* copy = find(std::string("bandwidth/copy/") += std::to_string(kLargeValues * 4));
  const double read1_gbs = read1 ? read1->bytes_per_second / 1e9 : 0;
  const double read4_gbs = read4 ? read4->bytes_per_second / 1e9 : 0;
  const double read_gbs = std::max(read1_gbs, read4_gbs);  // the reference for read-only kernels
  const double copy_gbs = copy ? copy->bytes_per_second / 1e9 : 0;
  const std::string dash = "-";

  out << "\n## Summary\n\n";
  out << "GB/s = 10^9 bytes (read + written) per second. TSC " << format("%.3f", tsc_hz() / 1e9)
      << " GHz; cyc/32 = TSC cycles per 32 values.\n";
  out << "Kernel and bandwidth times are thread CPU time, matrix products wall time; each figure is the"
         " median of the repetitions (or the fastest run without them).\n";
  out << "Memory reference: read " << (read1 ? format("%.2f", read1_gbs) : dash)
      << " GB/s (sum of 64 Mi floats, one stream), " << (read4 ? format("%.2f", read4_gbs) : dash)
      << " GB/s (four streams); copy " << (copy ? format("%.2f", copy_gbs) : dash)
      << " GB/s (memcpy 256 MiB, read + written).\n\n";

  out << "| op | format | best SIMD | SIMD µs | SIMD cyc/32 | SIMD min | scalar µs | scalar cyc/32 | scalar min"
         " | scalar÷SIMD time | large GB/s | large ISA | large ÷ ref |\n";
  out << "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|\n";
  for (const char* op : {"quantize", "dequantize", "vec_dot"}) {
    for (const kernels::FormatInfo& f : kernels::all_formats()) {
      auto name = [&](Isa isa, const std::string& size) {
        return std::string(op) + "/" + std::string(f.name) + "/" + std::string(kernels::isa_name(isa)) + size;
      };
      const Figures* scalar = find(name(Isa::kScalar, l2));
      const Figures* simd = nullptr;
      Isa simd_isa = Isa::kScalar;
      const Figures* big = nullptr;
      Isa big_isa = Isa::kScalar;
      for (Isa isa : isas) {
        const Figures* s = find(name(isa, l2));
        if (isa != Isa::kScalar && s && (!simd || s->seconds < simd->seconds)) simd = s, simd_isa = isa;
        const Figures* b = find(name(isa, large));
        if (b && (!big || b->seconds < big->seconds)) big = b, big_isa = isa;
      }
      if (!scalar && !simd && !big) continue;
      // vec_dot only reads, so it is set against the read bandwidth; the others against copy.
      const double ref = std::string_view(op) == "vec_dot" ? read_gbs : copy_gbs;
      out << "| " << op << " | " << f.name << " | " << (simd ? std::string(kernels::isa_name(simd_isa)) : dash)
          << " | " << (simd ? format("%.1f", simd->seconds * 1e6) : dash) << " | "
          << (simd ? format("%.2f", simd->cycles_per_32) : dash) << " | "
          << (simd ? format("%.2f", simd->min_cycles_per_32) : dash) << " | "
          << (scalar ? format("%.1f", scalar->seconds * 1e6) : dash) << " | "
          << (scalar ? format("%.2f", scalar->cycles_per_32) : dash) << " | "
          << (scalar ? format("%.2f", scalar->min_cycles_per_32) : dash) << " | "
          << (simd && scalar ? format("%.2fx", scalar->seconds / simd->seconds) : dash) << " | "
          << (big ? format("%.2f", big->bytes_per_second / 1e9) : dash) << " | "
          << (big ? std::string(kernels::isa_name(big_isa)) : dash) << " | "
          << (big && ref > 0 ? format("%.2f", big->bytes_per_second / 1e9 / ref) : dash) << " |\n";
    }
  }
  out << "\nSIMD/scalar columns: " << kL2Values << " values (L2-resident); min = min_cyc/32, the fastest single"
         " call. large: " << kLargeValues
      << " values, one pass from DRAM, fastest ISA; ref = copy bandwidth for quantize and dequantize, the better"
         " read bandwidth for vec_dot and the matrix products.\n\n";

  bool header = false;
  for (const auto& [name, f] : best_) {
    if (name.rfind("matvec/", 0) != 0 && name.rfind("matmul/", 0) != 0) continue;
    if (!header) {
      out << "| matrix product | ms per call | weight GB/s | ÷ read | weight GB/s of CPU time (1 thread) | ÷ read |\n"
             "|---|--:|--:|--:|--:|--:|\n";
      header = true;
    }
    out << "| " << name << " | " << format("%.2f", f.seconds * 1e3) << " | "
        << format("%.2f", f.bytes_per_second / 1e9) << " | "
        << (read_gbs > 0 ? format("%.2f", f.bytes_per_second / 1e9 / read_gbs) : dash) << " | "
        << (f.cpu_bytes_per_second > 0 ? format("%.2f", f.cpu_bytes_per_second / 1e9) : dash) << " | "
        << (f.cpu_bytes_per_second > 0 && read_gbs > 0 ? format("%.2f", f.cpu_bytes_per_second / 1e9 / read_gbs) : dash)
        << " |\n";
  }
  out.flush();
}

}  // namespace quantd::bench
