// The quantd.v1.Quantd service on gRPC's callback API: each handler converts the message to
// the engine's types, calls the engine, and converts the result and status back. Calls that
// may block (large tensors, model loads, Generate) run on the worker threads; the rest inline.
#pragma once

#include <string>

#include "quantd/v1/quantd.grpc.pb.h"
#include "server/engine/engine.h"
#include "server/engine/workers.h"

namespace quantd::service {

struct ServiceOptions {
  int64_t stream_chunk_bytes = 1 << 20;  // QuantizeStream's reply chunk size
  int max_workers = 64;                  // threads running blocking calls (--grpc_max_threads)
};

class QuantdService final : public v1::Quantd::CallbackService {
 public:
  QuantdService(engine::Engine& engine, const ServiceOptions& options);

  grpc::ServerUnaryReactor* Quantize(grpc::CallbackServerContext* context, const v1::QuantizeRequest* request,
                                     v1::QuantizeResponse* response) override;
  grpc::ServerUnaryReactor* Dequantize(grpc::CallbackServerContext* context, const v1::DequantizeRequest* request,
                                       v1::DequantizeResponse* response) override;
  grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>* QuantizeStream(
      grpc::CallbackServerContext* context) override;

  // Model admin (model_handlers.cc).
  grpc::ServerUnaryReactor* LoadModel(grpc::CallbackServerContext* context, const v1::LoadModelRequest* request,
                                      v1::LoadModelResponse* response) override;
  grpc::ServerUnaryReactor* UnloadModel(grpc::CallbackServerContext* context, const v1::UnloadModelRequest* request,
                                        v1::UnloadModelResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest* request,
                                       v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context, const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* QuantizeModel(grpc::CallbackServerContext* context, const v1::QuantizeModelRequest* request,
                                          v1::QuantizeModelResponse* response) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context, const v1::GetServerInfoRequest* request,
                                          v1::ServerInfo* response) override;

  // Generate (generate_handler.cc).
  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(grpc::CallbackServerContext* context,
                                                           const v1::GenerateRequest* request) override;

 private:
  engine::Engine& engine_;
  const ServiceOptions options_;
  engine::Workers workers_;
};

}  // namespace quantd::service
