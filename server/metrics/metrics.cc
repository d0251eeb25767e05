#include "server/metrics/metrics.h"

#include <cmath>

namespace quantd::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using Buckets = prometheus::Histogram::BucketBoundaries;

// 100 us .. 60 s: small Quantize calls are sub-millisecond, model loads and long generations
// take tens of seconds.
const Buckets kLatency = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                          0.25,   0.5,     1,      2.5,   5,      10,    30,   60};
// Per-token latencies of small and large models on CPUs: 1 ms .. 2 s.
const Buckets kToken = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2};
// RMSE relative scale varies over decades with the data; SNR in dB is linear.
const Buckets kRmse = {1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1, 10};
const Buckets kSnr = {0, 5, 10, 15, 20, 25, 30, 35, 40, 50, 60};

}  // namespace

const Buckets& Metrics::latency_buckets() { return kLatency; }

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests(BuildCounter().Name("quantd_requests_total").Help("RPCs finished, by method and status code").Register(*registry_)),
      latency(BuildHistogram()
                  .Name("quantd_request_duration_seconds")
                  .Help("RPC latency from the first request byte to the status, by method and status code")
                  .Register(*registry_)),
      in_flight(BuildGauge().Name("quantd_requests_in_flight").Help("RPCs being served, by method").Register(*registry_)),
      errors(BuildCounter().Name("quantd_request_errors_total").Help("RPCs that ended with a status other than OK").Register(*registry_)),
      time_to_first_token(BuildHistogram()
                              .Name("quantd_generate_time_to_first_token_seconds")
                              .Help("Generate: from the request to the first streamed token")
                              .Register(*registry_)
                              .Add({}, kLatency)),
      inter_token(BuildHistogram()
                      .Name("quantd_generate_inter_token_seconds")
                      .Help("Generate: time between consecutive generated tokens")
                      .Register(*registry_)
                      .Add({}, kToken)),
      prompt_tokens(BuildCounter().Name("quantd_generate_prompt_tokens_total").Help("Prompt tokens processed").Register(*registry_).Add({})),
      generated_tokens(BuildCounter().Name("quantd_generate_tokens_total").Help("Tokens generated").Register(*registry_).Add({})),
      active_streams(BuildGauge().Name("quantd_generate_active_streams").Help("Generate streams running").Register(*registry_).Add({})),
      generate_queue(BuildGauge().Name("quantd_generate_queue_length").Help("Generate requests waiting for a slot").Register(*registry_).Add({})),
      kv_cache_bytes(BuildGauge().Name("quantd_kv_cache_bytes").Help("Bytes of KV cache held by running generations").Register(*registry_).Add({})),
      compute_queue(BuildGauge().Name("quantd_compute_queue_length").Help("Large quantize jobs waiting for the compute lease").Register(*registry_).Add({})),
      quantize_bytes_in_(BuildCounter().Name("quantd_quantize_input_bytes_total").Help("Bytes of tensors quantized, by scheme").Register(*registry_)),
      quantize_bytes_out_(BuildCounter().Name("quantd_quantize_output_bytes_total").Help("Bytes of quantized results, by scheme").Register(*registry_)),
      quantize_rmse_(BuildHistogram().Name("quantd_quantize_rmse").Help("Root-mean-square error of each quantized tensor, by scheme").Register(*registry_)),
      quantize_snr_(BuildHistogram().Name("quantd_quantize_snr_db").Help("Signal-to-noise ratio of each quantized tensor in dB, by scheme").Register(*registry_)),
      model_bytes_(BuildGauge().Name("quantd_model_bytes").Help("Bytes held per loaded model: kind=mapped (file mapping) or allocated (owned)").Register(*registry_)) {}

void Metrics::record_quantize(const std::string& scheme, double bytes_in, double bytes_out, double rmse,
                              double snr_db) {
  quantize_bytes_in_.Add({{"scheme", scheme}}).Increment(bytes_in);
  quantize_bytes_out_.Add({{"scheme", scheme}}).Increment(bytes_out);
  if (rmse >= 0) quantize_rmse_.Add({{"scheme", scheme}}, kRmse).Observe(rmse);
  if (std::isfinite(snr_db)) quantize_snr_.Add({{"scheme", scheme}}, kSnr).Observe(snr_db);
}

void Metrics::set_model_bytes(const std::string& model, double mapped, double allocated) {
  std::lock_guard lock(model_mu_);
  auto& series = model_series_[model];
  if (series.first == nullptr) {
    series.first = &model_bytes_.Add({{"model", model}, {"kind", "mapped"}});
    series.second = &model_bytes_.Add({{"model", model}, {"kind", "allocated"}});
  }
  series.first->Set(mapped);
  series.second->Set(allocated);
}

void Metrics::remove_model(const std::string& model) {
  std::lock_guard lock(model_mu_);
  auto it = model_series_.find(model);
  if (it == model_series_.end()) return;
  model_bytes_.Remove(it->second.first);
  model_bytes_.Remove(it->second.second);
  model_series_.erase(it);
}

}  // namespace quantd::metrics
