// Model admin: loading (with optional re-quantization), unloading, listing, details,
// QuantizeModel's whole sequence, and the server's status.
#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "quantd/kernels/kernels.h"
#include "server/common/status.h"
#include "server/engine/engine.h"
#include "server/model/model_path.h"
#include "server/model/quantize_model.h"

namespace quantd::engine {
namespace {

// The weight formats a model may hold: those with a dot-product kernel.
bool is_weight_format(const kernels::FormatInfo& f) { return kernels::kernels()[f.format].vec_dot != nullptr; }

// A weight format named by a client ("q8_0"); empty gives nullopt.
absl::StatusOr<std::optional<kernels::Format>> weight_format(const std::string& name, const char* field) {
  if (name.empty()) return std::optional<kernels::Format>();
  const kernels::FormatInfo* f = kernels::find_format(name);
  if (f == nullptr || !is_weight_format(*f)) {
    std::vector<std::string> names;
    for (const kernels::FormatInfo& info : kernels::all_formats()) {
      if (is_weight_format(info)) names.emplace_back(info.name);
    }
    const std::string last = names.back();
    names.pop_back();
    return absl::InvalidArgumentError(
        absl::StrCat(field, " '", name, "' is not a weight type; expected ", absl::StrJoin(names, ", "), " or ", last));
  }
  return std::optional<kernels::Format>(f->format);
}

std::string type_name(kernels::Format f) { return std::string(kernels::find_format(f)->name); }

// Errors name files as the client named them: the server's directory layout stays private.
absl::Status in_client_terms(const absl::Status& s, const std::string& resolved, const std::string& requested) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrReplaceAll(s.message(), {{resolved, requested}}));
}

int64_t micros_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

ModelSummary Engine::summarize(const model::Model& m) const {
  ModelSummary s;
  s.name = m.name();
  s.path = m.path();
  if (!options_.model_dir.empty() && s.path.rfind(options_.model_dir, 0) == 0) {
    s.path = s.path.substr(options_.model_dir.size());
    while (!s.path.empty() && s.path[0] == '/') s.path.erase(0, 1);
  }
  s.architecture = m.params().architecture;
  for (const model::ModelTensor& t : m.tensors()) {
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    s.parameters += n;
  }
  s.bytes_mapped = m.bytes_mapped();
  s.bytes_allocated = m.bytes_allocated();
  s.tensor_count = static_cast<int32_t>(m.tensors().size());
  return s;
}

absl::Status Engine::add(ModelStore::Reservation reservation, std::shared_ptr<const model::Model> m) {
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> loaded, make_loaded(m));
  reservation.commit(std::move(loaded));
  if (options_.metrics != nullptr)
    options_.metrics->set_model_bytes(m->name(), m->bytes_mapped(), m->bytes_allocated());
  return absl::OkStatus();
}

absl::StatusOr<ModelSummary> Engine::load_resolved(const std::string& name, const std::string& path,
                                                   const std::string& target_type, const CancelToken& cancel) {
  const auto start = std::chrono::steady_clock::now();
  QUANTD_ASSIGN_OR_RETURN(ModelStore::Reservation reservation, models_.reserve(name));
  QUANTD_ASSIGN_OR_RETURN(std::optional<kernels::Format> target, weight_format(target_type, "target_type"));
  model::LoadOptions load;
  load.target = target;
  load.threads = options_.threads;
  Admission::Ticket lease;
  if (target.has_value()) {
    QUANTD_ASSIGN_OR_RETURN(lease, compute_.acquire(cancel));
  }
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const model::Model> m, model::Model::load(name, path, load));
  lease.reset();
  QUANTD_RETURN_IF_ERROR(add(std::move(reservation), m));
  ModelSummary s = summarize(*m);
  s.load_micros = micros_since(start);
  return s;
}

absl::StatusOr<ModelSummary> Engine::load_model(const std::string& name, const std::string& path,
                                                const std::string& target_type, const CancelToken& cancel) {
  QUANTD_ASSIGN_OR_RETURN(std::string resolved, model::resolve_model_path(options_.model_dir, path, true));
  absl::StatusOr<ModelSummary> s = load_resolved(name, resolved, target_type, cancel);
  if (!s.ok()) return in_client_terms(s.status(), resolved, path);
  return s;
}

absl::StatusOr<ModelSummary> Engine::load_startup_model(const std::string& name, const std::string& path,
                                                        const std::string& target_type) {
  const bool relative = !path.empty() && path[0] != '/';
  return load_resolved(name, relative && !options_.model_dir.empty() ? options_.model_dir + "/" + path : path,
                       target_type, CancelToken::never());
}

absl::Status Engine::unload_model(const std::string& name) {
  // Running generations hold their own references: the model's memory goes when they end.
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> dropped, models_.remove(name));
  if (options_.metrics != nullptr) options_.metrics->remove_model(name);
  return absl::OkStatus();
}

std::vector<ModelSummary> Engine::list_models() const {
  std::vector<ModelSummary> out;
  for (const auto& m : models_.list()) out.push_back(summarize(*m->model));
  return out;
}

absl::StatusOr<ModelDetails> Engine::model_info(const std::string& name) const {
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> loaded, models_.get(name));
  const model::Model& m = *loaded->model;
  ModelDetails d;
  d.summary = summarize(m);
  d.params = m.params();
  for (const model::ModelTensor& t : m.tensors()) {
    d.tensors.push_back(
        TensorDetail{t.name, t.ne, type_name(t.format), static_cast<uint32_t>(t.format), t.bytes, t.mapped});
  }
  return d;
}

absl::StatusOr<QuantizeModelOutcome> Engine::quantize_model(const QuantizeModelRequest& request,
                                                            const CancelToken& cancel) {
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> source, models_.get(request.source));
  if (request.output_name.empty()) return absl::InvalidArgumentError("output_name is empty");
  QUANTD_ASSIGN_OR_RETURN(ModelStore::Reservation reservation, models_.reserve(request.output_name));
  QUANTD_ASSIGN_OR_RETURN(std::optional<kernels::Format> target, weight_format(request.target_type, "target_type"));
  if (!target.has_value()) return absl::InvalidArgumentError("target_type is empty");
  QUANTD_ASSIGN_OR_RETURN(std::optional<kernels::Format> fallback,
                          weight_format(request.fallback_type, "fallback_type"));
  std::string out_path;
  if (!request.output_path.empty()) {
    QUANTD_ASSIGN_OR_RETURN(out_path, model::resolve_model_path(options_.model_dir, request.output_path, false));
  }
  model::QuantizeModelOptions options;
  options.target = *target;
  if (fallback.has_value()) options.fallback = *fallback;
  options.keep = request.keep;
  options.threads = options_.threads;

  QuantizeModelOutcome outcome;
  model::QuantizeModelResult result;
  {
    QUANTD_ASSIGN_OR_RETURN(Admission::Ticket lease, compute_.acquire(cancel));
    QUANTD_ASSIGN_OR_RETURN(result, model::quantize_model(source->model, request.output_name, options));
    if (!out_path.empty()) {
      QUANTD_RETURN_IF_ERROR(
          in_client_terms(model::write_model(*result.model, options.target, out_path), out_path, request.output_path));
      outcome.written_path = request.output_path;
    }
  }
  QUANTD_RETURN_IF_ERROR(add(std::move(reservation), result.model));
  outcome.model = summarize(*result.model);
  for (const model::TensorReport& r : result.tensors) {
    outcome.tensors.push_back(
        TensorChange{r.name, type_name(r.before), type_name(r.after), r.bytes_before, r.bytes_after, r.error, r.note});
    outcome.bytes_before += r.bytes_before;
    outcome.bytes_after += r.bytes_after;
  }
  return outcome;
}

ServerStatus Engine::server_status() const {
  ServerStatus s;
  s.isa = std::string(kernels::isa_name(kernels::kernels().isa));
  for (kernels::Isa isa : kernels::supported_isas()) s.available_isas.emplace_back(kernels::isa_name(isa));
  s.threads = options_.threads;
  s.max_concurrent_generations = generations_.max_active();
  s.models = list_models();
  return s;
}

}  // namespace quantd::engine
