#include "server/metrics/process_collector.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace quantd::metrics {
namespace {

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

// A "Key:   123 kB" line of /proc/self/status, in bytes (or the plain count for Threads).
double status_field(const std::string& status, const std::string& key) {
  const size_t pos = status.find("\n" + key + ":");
  if (pos == std::string::npos) return 0;
  std::istringstream in(status.substr(pos + key.size() + 2));
  double value = 0;
  std::string unit;
  in >> value >> unit;
  return unit == "kB" ? value * 1024 : value;
}

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

ProcessCollector::ProcessCollector()
    : start_time_seconds_(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::ifstream f("/proc/self/status");
  std::stringstream buffer;
  buffer << "\n" << f.rdbuf();
  const std::string status = buffer.str();

  double cpu_seconds = 0;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 1; i <= 13 && rest >> field; ++i) {
      if (i == 12) utime = std::stod(field);
      if (i == 13) stime = std::stod(field);
    }
    cpu_seconds = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  using prometheus::MetricType;
  return {
      family("process_resident_memory_bytes", "Resident memory size in bytes", MetricType::Gauge,
             status_field(status, "VmRSS")),
      family("process_virtual_memory_bytes", "Virtual memory size in bytes", MetricType::Gauge,
             status_field(status, "VmSize")),
      family("process_cpu_seconds_total", "User and system CPU time in seconds", MetricType::Counter, cpu_seconds),
      family("process_open_fds", "Open file descriptors", MetricType::Gauge, open_fds()),
      family("process_threads", "OS threads", MetricType::Gauge, status_field(status, "Threads")),
      family("process_start_time_seconds", "Start time since the Unix epoch in seconds", MetricType::Gauge,
             start_time_seconds_),
  };
}

}  // namespace quantd::metrics
