// Model admin: LoadModel, UnloadModel, ListModels, GetModelInfo, QuantizeModel, GetServerInfo.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "quantd/kernels/kernels.h"
#include "server/model/model_path.h"
#include "server/model/quantize_model.h"
#include "server/service/convert.h"
#include "server/service/quantd_service.h"
#include "server/service/status.h"

namespace quantd::service {
namespace {

// A weight format named by a client ("q8_0"); empty gives nullopt.
absl::StatusOr<std::optional<kernels::Format>> weight_format(const std::string& name, const char* field) {
  if (name.empty()) return std::optional<kernels::Format>();
  const kernels::FormatInfo* f = kernels::find_format(name);
  if (f == nullptr || kernels::kernels()[f->format].vec_dot == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(field, " '", name,
                                                   "' is not a weight type; expected f32, f16, bf16, q4_0, q4_1, "
                                                   "q5_0, q5_1 or q8_0"));
  }
  return std::optional<kernels::Format>(f->format);
}

std::string type_name(kernels::Format f) { return std::string(kernels::find_format(f)->name); }

}  // namespace

absl::Status QuantdService::add_model(std::shared_ptr<const model::Model> m) {
  absl::StatusOr<std::shared_ptr<const llm::Llama>> llama = llm::Llama::create(m);
  if (!llama.ok()) return llama.status();
  absl::StatusOr<std::unique_ptr<const llm::Tokenizer>> tokenizer = llm::Tokenizer::from_gguf(m->gguf());
  if (!tokenizer.ok()) return tokenizer.status();
  auto r = std::make_shared<Runner>(Runner{*std::move(llama), std::shared_ptr<const llm::Tokenizer>(*std::move(tokenizer))});
  std::lock_guard lock(runners_mu_);
  if (absl::Status s = models_.add(m); !s.ok()) return s;
  runners_[m->name()] = std::move(r);
  if (options_.metrics != nullptr) options_.metrics->set_model_bytes(m->name(), m->bytes_mapped(), m->bytes_allocated());
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const QuantdService::Runner>> QuantdService::runner(const std::string& name) const {
  std::lock_guard lock(runners_mu_);
  auto it = runners_.find(name);
  if (it == runners_.end()) return absl::NotFoundError(absl::StrCat("no model named '", name, "' is loaded"));
  return it->second;
}

absl::StatusOr<std::shared_ptr<const model::Model>> QuantdService::load(const std::string& name,
                                                                        const std::string& path,
                                                                        const std::string& target_type) {
  if (name.empty()) return absl::InvalidArgumentError("name is empty");
  if (models_.get(name).ok()) return absl::AlreadyExistsError(absl::StrCat("a model named '", name, "' is loaded"));
  absl::StatusOr<std::optional<kernels::Format>> target = weight_format(target_type, "target_type");
  if (!target.ok()) return target.status();
  model::LoadOptions options;
  options.target = *target;
  options.threads = options_.threads;
  absl::StatusOr<std::shared_ptr<const model::Model>> m = model::Model::load(name, path, options);
  if (!m.ok()) return m.status();
  if (absl::Status s = add_model(*m); !s.ok()) return s;
  return m;
}

absl::Status QuantdService::load_local(const std::string& name, const std::string& path,
                                       const std::string& target_type) {
  return load(name, path, target_type).status();
}

void QuantdService::summarize(const model::Model& m, v1::ModelSummary* out) const {
  out->set_name(m.name());
  std::string path = m.path();
  if (!options_.model_dir.empty() && path.rfind(options_.model_dir, 0) == 0) {
    path = path.substr(options_.model_dir.size());
    while (!path.empty() && path[0] == '/') path.erase(0, 1);
  }
  out->set_path(path);
  out->set_architecture(m.params().architecture);
  int64_t parameters = 0;
  for (const model::ModelTensor& t : m.tensors()) {
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    parameters += n;
  }
  out->set_parameters(parameters);
  out->set_bytes_mapped(m.bytes_mapped());
  out->set_bytes_allocated(m.bytes_allocated());
  out->set_tensor_count(static_cast<int32_t>(m.tensors().size()));
}

namespace {

// Errors name files as the client named them: the server's directory layout stays private.
absl::Status in_client_terms(const absl::Status& s, const std::string& resolved, const std::string& requested) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrReplaceAll(s.message(), {{resolved, requested}}));
}

}  // namespace

grpc::Status QuantdService::LoadModel(grpc::ServerContext*, const v1::LoadModelRequest* request,
                                      v1::LoadModelResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> path = model::resolve_model_path(options_.model_dir, request->path(), true);
  if (!path.ok()) return to_grpc_status(path.status());
  absl::StatusOr<std::shared_ptr<const model::Model>> m = load(request->name(), *path, request->target_type());
  if (!m.ok()) return to_grpc_status(in_client_terms(m.status(), *path, request->path()));
  summarize(**m, response->mutable_model());
  response->set_load_micros(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
  return grpc::Status::OK;
}

grpc::Status QuantdService::UnloadModel(grpc::ServerContext*, const v1::UnloadModelRequest* request,
                                        v1::UnloadModelResponse*) {
  {
    // Running generations hold their own references: the model's memory goes when they end.
    std::lock_guard lock(runners_mu_);
    if (absl::Status s = models_.remove(request->name()); !s.ok()) return to_grpc_status(s);
    runners_.erase(request->name());
  }
  if (options_.metrics != nullptr) options_.metrics->remove_model(request->name());
  return grpc::Status::OK;
}

grpc::Status QuantdService::ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                                       v1::ListModelsResponse* response) {
  for (const auto& m : models_.list()) summarize(*m, response->add_models());
  return grpc::Status::OK;
}

grpc::Status QuantdService::GetModelInfo(grpc::ServerContext*, const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) {
  absl::StatusOr<std::shared_ptr<const model::Model>> m = models_.get(request->name());
  if (!m.ok()) return to_grpc_status(m.status());
  summarize(**m, response->mutable_summary());
  const model::LlamaParams& p = (*m)->params();
  v1::LlamaHyperParameters* h = response->mutable_hyper_parameters();
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
  for (const model::ModelTensor& t : (*m)->tensors()) {
    v1::ModelTensorInfo* ti = response->add_tensors();
    ti->set_name(t.name);
    ti->mutable_shape()->Assign(t.ne.begin(), t.ne.end());
    ti->set_type(type_name(t.format));
    ti->set_ggml_type(static_cast<uint32_t>(t.format));
    ti->set_bytes(t.bytes);
    ti->set_mapped(t.mapped);
  }
  return grpc::Status::OK;
}

grpc::Status QuantdService::QuantizeModel(grpc::ServerContext* context, const v1::QuantizeModelRequest* request,
                                          v1::QuantizeModelResponse* response) {
  absl::StatusOr<std::shared_ptr<const model::Model>> source = models_.get(request->source());
  if (!source.ok()) return to_grpc_status(source.status());
  if (request->output_name().empty()) return to_grpc_status(absl::InvalidArgumentError("output_name is empty"));
  if (models_.get(request->output_name()).ok()) {
    return to_grpc_status(absl::AlreadyExistsError(absl::StrCat("a model named '", request->output_name(), "' is loaded")));
  }
  absl::StatusOr<std::optional<kernels::Format>> target = weight_format(request->target_type(), "target_type");
  if (!target.ok()) return to_grpc_status(target.status());
  if (!target->has_value()) return to_grpc_status(absl::InvalidArgumentError("target_type is empty"));
  absl::StatusOr<std::optional<kernels::Format>> fallback = weight_format(request->fallback_type(), "fallback_type");
  if (!fallback.ok()) return to_grpc_status(fallback.status());
  std::string out_path;
  if (!request->output_path().empty()) {
    absl::StatusOr<std::string> p = model::resolve_model_path(options_.model_dir, request->output_path(), false);
    if (!p.ok()) return to_grpc_status(p.status());
    out_path = *p;
  }
  model::QuantizeModelOptions options;
  options.target = **target;
  if (fallback->has_value()) options.fallback = **fallback;
  options.keep.assign(request->keep().begin(), request->keep().end());
  options.threads = options_.threads;

  ComputeGate::Lease lease = gate_.acquire(context);
  if (!lease.held()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while waiting for a compute slot");
  absl::StatusOr<model::QuantizeModelResult> result =
      model::quantize_model(*source, request->output_name(), options);
  if (!result.ok()) return to_grpc_status(result.status());
  if (!out_path.empty()) {
    if (absl::Status s = model::write_model(*result->model, options.target, out_path); !s.ok()) {
      return to_grpc_status(in_client_terms(s, out_path, request->output_path()));
    }
    response->set_written_path(request->output_path());
  }
  lease = ComputeGate::Lease(nullptr);
  if (absl::Status s = add_model(result->model); !s.ok()) return to_grpc_status(s);
  summarize(*result->model, response->mutable_model());
  response->mutable_model()->set_source_model(request->source());
  uint64_t before = 0, after = 0;
  for (const model::TensorReport& r : result->tensors) {
    v1::TensorQuantizationReport* t = response->add_tensors();
    t->set_name(r.name);
    t->set_type_before(type_name(r.before));
    t->set_type_after(type_name(r.after));
    t->set_bytes_before(r.bytes_before);
    t->set_bytes_after(r.bytes_after);
    if (r.error) to_proto(*r.error, t->mutable_error());
    t->set_note(r.note);
    before += r.bytes_before;
    after += r.bytes_after;
  }
  response->set_bytes_before(before);
  response->set_bytes_after(after);
  return grpc::Status::OK;
}

grpc::Status QuantdService::GetServerInfo(grpc::ServerContext*, const v1::GetServerInfoRequest*,
                                          v1::ServerInfo* response) {
  response->set_version(QUANTD_VERSION);
  response->set_architecture(QUANTD_ARCH);
  response->set_isa(std::string(kernels::isa_name(kernels::kernels().isa)));
  for (kernels::Isa isa : kernels::supported_isas()) response->add_available_isas(std::string(kernels::isa_name(isa)));
  response->set_threads(options_.threads);
  response->set_max_concurrent_generations(generations_.max_active());
  for (const auto& m : models_.list()) summarize(*m, response->add_models());
  return grpc::Status::OK;
}

}  // namespace quantd::service
