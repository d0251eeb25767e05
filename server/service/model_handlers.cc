// Model admin: LoadModel, UnloadModel, ListModels, GetModelInfo, QuantizeModel, GetServerInfo.
#include "server/common/status.h"
#include "server/service/convert.h"
#include "server/service/quantd_service.h"
#include "server/service/reactors.h"

namespace quantd::service {
namespace {

using service::to_proto;  // convert.h's, beside the overloads below

void to_proto(const engine::ModelSummary& s, v1::ModelSummary* out) {
  out->set_name(s.name);
  out->set_path(s.path);
  out->set_architecture(s.architecture);
  out->set_parameters(s.parameters);
  out->set_bytes_mapped(s.bytes_mapped);
  out->set_bytes_allocated(s.bytes_allocated);
  out->set_tensor_count(s.tensor_count);
}

void to_proto(const model::LlamaConfig& p, v1::LlamaHyperParameters* h) {
  h->set_vocab_size(p.n_vocab);
  h->set_context_length(p.n_ctx_train);
  h->set_embedding_length(p.n_embd);
  h->set_block_count(p.n_layer);
  h->set_head_count(p.n_head);
  h->set_head_count_kv(p.n_head_kv);
  h->set_feed_forward_length(p.n_ff);
  h->set_rope_dimension_count(p.n_rot);
  h->set_rope_freq_base(p.rope_freq_base);
  h->set_rms_norm_epsilon(p.rms_eps);
}

void to_proto(const engine::TensorChange& c, v1::TensorQuantizationReport* t) {
  t->set_name(c.name);
  t->set_type_before(c.type_before);
  t->set_type_after(c.type_after);
  t->set_bytes_before(c.bytes_before);
  t->set_bytes_after(c.bytes_after);
  if (c.error) to_proto(*c.error, t->mutable_error());
  t->set_note(c.note);
}

engine::QuantizeModelRequest to_engine(const v1::QuantizeModelRequest& r) {
  return engine::QuantizeModelRequest{
      r.source(),     r.output_name(), r.target_type(), r.fallback_type(), {r.keep().begin(), r.keep().end()},
      r.output_path()};
}

}  // namespace

grpc::ServerUnaryReactor* QuantdService::LoadModel(grpc::CallbackServerContext* context,
                                                   const v1::LoadModelRequest* request,
                                                   v1::LoadModelResponse* response) {
  return UnaryCall::start(context, &workers_, [this, request, response](const engine::CancelToken& cancel) {
    QUANTD_ASSIGN_OR_RETURN(engine::ModelSummary s,
                            engine_.load_model(request->name(), request->path(), request->target_type(), cancel));
    to_proto(s, response->mutable_model());
    response->set_load_micros(s.load_micros);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QuantdService::UnloadModel(grpc::CallbackServerContext* context,
                                                     const v1::UnloadModelRequest* request, v1::UnloadModelResponse*) {
  return UnaryCall::start(
      context, nullptr, [this, request](const engine::CancelToken&) { return engine_.unload_model(request->name()); });
}

grpc::ServerUnaryReactor* QuantdService::ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
                                                    v1::ListModelsResponse* response) {
  return UnaryCall::start(context, nullptr, [this, response](const engine::CancelToken&) {
    for (const engine::ModelSummary& s : engine_.list_models()) to_proto(s, response->add_models());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QuantdService::GetModelInfo(grpc::CallbackServerContext* context,
                                                      const v1::GetModelInfoRequest* request, v1::ModelInfo* response) {
  return UnaryCall::start(context, nullptr, [this, request, response](const engine::CancelToken&) {
    QUANTD_ASSIGN_OR_RETURN(engine::ModelDetails d, engine_.model_info(request->name()));
    to_proto(d.summary, response->mutable_summary());
    to_proto(d.params, response->mutable_hyper_parameters());
    for (const engine::TensorDetail& t : d.tensors) {
      v1::ModelTensorInfo* ti = response->add_tensors();
      ti->set_name(t.name);
      ti->mutable_shape()->Assign(t.shape.begin(), t.shape.end());
      ti->set_type(t.type);
      ti->set_ggml_type(t.ggml_type);
      ti->set_bytes(t.bytes);
      ti->set_mapped(t.mapped);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QuantdService::QuantizeModel(grpc::CallbackServerContext* context,
                                                       const v1::QuantizeModelRequest* request,
                                                       v1::QuantizeModelResponse* response) {
  return UnaryCall::start(context, &workers_, [this, request, response](const engine::CancelToken& cancel) {
    QUANTD_ASSIGN_OR_RETURN(engine::QuantizeModelOutcome o, engine_.quantize_model(to_engine(*request), cancel));
    to_proto(o.model, response->mutable_model());
    response->mutable_model()->set_source_model(request->source());
    response->set_written_path(o.written_path);
    for (const engine::TensorChange& c : o.tensors) to_proto(c, response->add_tensors());
    response->set_bytes_before(o.bytes_before);
    response->set_bytes_after(o.bytes_after);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QuantdService::GetServerInfo(grpc::CallbackServerContext* context,
                                                       const v1::GetServerInfoRequest*, v1::ServerInfo* response) {
  return UnaryCall::start(context, nullptr, [this, response](const engine::CancelToken&) {
    const engine::ServerStatus s = engine_.server_status();
    response->set_version(QUANTD_VERSION);
    response->set_architecture(QUANTD_ARCH);
    response->set_isa(s.isa);
    for (const std::string& isa : s.available_isas) response->add_available_isas(isa);
    response->set_threads(s.threads);
    response->set_max_concurrent_generations(s.max_concurrent_generations);
    for (const engine::ModelSummary& m : s.models) to_proto(m, response->add_models());
    return absl::OkStatus();
  });
}

}  // namespace quantd::service
