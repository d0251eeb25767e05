// One server interceptor records every RPC: count and latency by method and status code,
// in-flight by method, errors by code. Handlers record only domain metrics.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <set>
#include <string>

#include "server/metrics/metrics.h"

namespace quantd::metrics {

class RpcMetricsFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Method labels are limited to the methods of these services ("pkg.Service"); any other
  // method name a client sends is counted as "other", so clients cannot add series.
  RpcMetricsFactory(Metrics* metrics, const std::set<std::string>& services);
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* metrics_;
  std::set<std::string> methods_;  // "quantd.v1.Quantd/Quantize", ...
};

}  // namespace quantd::metrics
