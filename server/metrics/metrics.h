// Every metric quantd exports, built once at start-up (prometheus-cpp). Names follow
// Prometheus conventions: quantd_ prefix, base units, _total for counters. Label values come
// only from bounded sets: RPC method names of the registered services, status code names,
// scheme names, and the names of loaded models (whose series are removed on unload).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace quantd::metrics {

class Metrics {
  // First: every family below registers in it during construction.
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  Metrics();

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // --- RPC (recorded by the interceptor for every method) ---
  prometheus::Family<prometheus::Counter>& requests;          // quantd_requests_total{method,code}
  prometheus::Family<prometheus::Histogram>& latency;         // quantd_request_duration_seconds{method,code}
  prometheus::Family<prometheus::Gauge>& in_flight;           // quantd_requests_in_flight{method}
  prometheus::Family<prometheus::Counter>& errors;            // quantd_request_errors_total{method,code}
  static const prometheus::Histogram::BucketBoundaries& latency_buckets();

  // --- Quantization, by scheme ---
  void record_quantize(const std::string& scheme, double bytes_in, double bytes_out, double rmse, double snr_db);

  // --- Generation ---
  prometheus::Histogram& time_to_first_token;   // quantd_generate_time_to_first_token_seconds
  prometheus::Histogram& inter_token;           // quantd_generate_inter_token_seconds
  prometheus::Counter& prompt_tokens;           // quantd_generate_prompt_tokens_total
  prometheus::Counter& generated_tokens;        // quantd_generate_tokens_total
  prometheus::Gauge& active_streams;            // quantd_generate_active_streams
  prometheus::Gauge& generate_queue;            // quantd_generate_queue_length
  prometheus::Gauge& kv_cache_bytes;            // quantd_kv_cache_bytes

  // --- Compute admission (large Quantize/Dequantize jobs) ---
  prometheus::Gauge& compute_queue;             // quantd_compute_queue_length

  // --- Models ---
  void set_model_bytes(const std::string& model, double mapped, double allocated);
  void remove_model(const std::string& model);

 private:
  prometheus::Family<prometheus::Counter>& quantize_bytes_in_;
  prometheus::Family<prometheus::Counter>& quantize_bytes_out_;
  prometheus::Family<prometheus::Histogram>& quantize_rmse_;
  prometheus::Family<prometheus::Histogram>& quantize_snr_;
  prometheus::Family<prometheus::Gauge>& model_bytes_;
  std::mutex model_mu_;
  std::map<std::string, std::pair<prometheus::Gauge*, prometheus::Gauge*>> model_series_;
};

}  // namespace quantd::metrics
