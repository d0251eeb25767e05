#include "server/metrics/interceptor.h"

#include <google/protobuf/descriptor.h>

#include <chrono>

#include "absl/status/status.h"

namespace quantd::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RpcMetrics : public grpc::experimental::Interceptor {
 public:
  RpcMetrics(Metrics* metrics, std::string method)
      : metrics_(metrics),
        method_(std::move(method)),
        start_(std::chrono::steady_clock::now()),
        in_flight_(metrics->in_flight.Add({{"method", method_}})) {
    in_flight_.Increment();
  }
  ~RpcMetrics() override { in_flight_.Decrement(); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const prometheus::Labels labels = {{"method", method_}, {"code", code}};
      metrics_->requests.Add(labels).Increment();
      metrics_->latency.Add(labels, Metrics::latency_buckets()).Observe(seconds);
      if (!status.ok()) metrics_->errors.Add(labels).Increment();
    }
    methods->Proceed();
  }

 private:
  Metrics* metrics_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
  prometheus::Gauge& in_flight_;
};

}  // namespace

RpcMetricsFactory::RpcMetricsFactory(Metrics* metrics, const std::set<std::string>& services) : metrics_(metrics) {
  // The health service is implemented inside gRPC, outside protobuf's descriptor pool.
  methods_ = {"grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch"};
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* s =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (s == nullptr) continue;
    for (int i = 0; i < s->method_count(); ++i) methods_.insert(name + "/" + s->method(i)->name());
  }
  // Series exist at 0 from start-up, so rate() and increase() count each method's first calls
  // (a series born at its first increment has no earlier sample to rise from).
  for (const std::string& method : methods_) {
    const prometheus::Labels ok = {{"method", method}, {"code", "OK"}};
    metrics_->requests.Add(ok);
    metrics_->latency.Add(ok, Metrics::latency_buckets());
    metrics_->in_flight.Add({{"method", method}});
  }
}

grpc::experimental::Interceptor* RpcMetricsFactory::CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) {
  std::string method = info->method() != nullptr ? info->method() : "";
  if (!method.empty() && method[0] == '/') method.erase(0, 1);
  if (!methods_.count(method)) method = "other";
  return new RpcMetrics(metrics_, std::move(method));
}

}  // namespace quantd::metrics
