// Process metrics, read from /proc at scrape time (prometheus-cpp has no process collector):
// the standard names other Prometheus clients export, so existing dashboards work.
//   process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
//   process_open_fds, process_start_time_seconds, process_threads
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace quantd::metrics {

class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_;
};

}  // namespace quantd::metrics
