// The quantd.v1.Quantd service: validate, convert, call the core, convert the status.
#pragma once

#include <cstdint>

#include "quantd/v1/quantd.grpc.pb.h"
#include "server/metrics/metrics.h"
#include "server/service/compute_gate.h"

namespace quantd::service {

struct ServiceOptions {
  int threads = 1;                              // OpenMP threads for one large job
  int64_t parallel_min_values = 1 << 18;        // smaller tensors run single-threaded, ungated
  int64_t max_message_bytes = 256ll << 20;      // as configured on the server (for replies)
  int64_t max_tensor_bytes = 16ll << 30;        // QuantizeStream's bound on one tensor
  int64_t stream_chunk_bytes = 1 << 20;         // QuantizeStream's reply chunk size
  metrics::Metrics* metrics = nullptr;          // domain metrics; none when null (tests)
};

class QuantdService final : public v1::Quantd::Service {
 public:
  explicit QuantdService(const ServiceOptions& options);

  grpc::Status Quantize(grpc::ServerContext* context, const v1::QuantizeRequest* request,
                        v1::QuantizeResponse* response) override;
  grpc::Status Dequantize(grpc::ServerContext* context, const v1::DequantizeRequest* request,
                          v1::DequantizeResponse* response) override;
  grpc::Status QuantizeStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::QuantizeStreamResponse, v1::QuantizeStreamRequest>* stream) override;

 private:
  const ServiceOptions options_;
  ComputeGate gate_;
};

}  // namespace quantd::service
