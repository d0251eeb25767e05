// The quantd.v1.Quantd service: validate, convert, call the core, convert the status.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "quantd/v1/quantd.grpc.pb.h"
#include "server/metrics/metrics.h"
#include "server/llm/llama.h"
#include "server/llm/tokenizer.h"
#include "server/model/model.h"
#include "server/service/generation_slots.h"
#include "server/service/compute_gate.h"

namespace quantd::service {

struct ServiceOptions {
  int threads = 1;                              // OpenMP threads for one large job
  int64_t parallel_min_values = 1 << 18;        // smaller tensors run single-threaded, ungated
  int64_t max_message_bytes = 256ll << 20;      // as configured on the server (for replies)
  int64_t max_tensor_bytes = 16ll << 30;        // QuantizeStream's bound on one tensor
  int64_t stream_chunk_bytes = 1 << 20;         // QuantizeStream's reply chunk size
  metrics::Metrics* metrics = nullptr;          // domain metrics; none when null (tests)
  std::string model_dir;                        // LoadModel/QuantizeModel paths live here
  int max_generations = 4;                      // Generate streams decoding at once
  int generate_queue = 16;                      // Generate requests waiting beyond those
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

  // Model admin (model_handlers.cc).
  grpc::Status LoadModel(grpc::ServerContext* context, const v1::LoadModelRequest* request,
                         v1::LoadModelResponse* response) override;
  grpc::Status UnloadModel(grpc::ServerContext* context, const v1::UnloadModelRequest* request,
                           v1::UnloadModelResponse* response) override;
  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status GetModelInfo(grpc::ServerContext* context, const v1::GetModelInfoRequest* request,
                            v1::ModelInfo* response) override;
  grpc::Status QuantizeModel(grpc::ServerContext* context, const v1::QuantizeModelRequest* request,
                             v1::QuantizeModelResponse* response) override;
  grpc::Status GetServerInfo(grpc::ServerContext* context, const v1::GetServerInfoRequest* request,
                             v1::ServerInfo* response) override;

  // Generate (generate_handler.cc).
  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override;

  // Loads a model named on the command line (the path is trusted: not confined to model_dir).
  absl::Status load_local(const std::string& name, const std::string& path, const std::string& target_type);

 private:
  // What Generate needs of a model, built once when it is loaded.
  struct Runner {
    std::shared_ptr<const llm::Llama> llama;
    std::shared_ptr<const llm::Tokenizer> tokenizer;
  };
  // Registers a model and its runner; ALREADY_EXISTS when the name is taken.
  absl::Status add_model(std::shared_ptr<const model::Model> m);
  absl::StatusOr<std::shared_ptr<const Runner>> runner(const std::string& name) const;

  absl::StatusOr<std::shared_ptr<const model::Model>> load(const std::string& name, const std::string& path,
                                                           const std::string& target_type);
  void summarize(const model::Model& m, v1::ModelSummary* out) const;

  const ServiceOptions options_;
  ComputeGate gate_;
  model::ModelRegistry models_;
  mutable std::mutex runners_mu_;
  std::map<std::string, std::shared_ptr<const Runner>> runners_;
  GenerationSlots generations_;
};

}  // namespace quantd::service
