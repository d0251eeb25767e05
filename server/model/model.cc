// Model: the mapping plus its tensors, re-quantized where asked. Tensors not converted point
// into the mapping (no copy), so a loaded model costs its file's pages plus what it converted.
#include "server/model/model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"
#include "server/model/llama_params.h"
#include "server/model/requantize.h"
#include "server/common/status.h"

namespace quantd::model {

int64_t ModelTensor::rows() const {
  int64_t r = 1;
  for (size_t d = 1; d < ne.size(); ++d) r *= ne[d];
  return r;
}

absl::StatusOr<std::shared_ptr<const Model>> Model::load(const std::string& name, const std::string& path,
                                                         const LoadOptions& options) {
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::open(path));
  auto model = from_gguf(name, path, std::move(file), options);
  if (!model.ok()) {
    return absl::Status(model.status().code(), absl::StrCat(path, ": ", model.status().message()));
  }
  return model;
}

absl::StatusOr<std::shared_ptr<const Model>> Model::from_gguf(const std::string& name, const std::string& path,
                                                              std::shared_ptr<const GgufFile> gguf,
                                                              const LoadOptions& options) {
  if (name.empty()) return absl::InvalidArgumentError("model name is empty");
  std::shared_ptr<Model> m(new Model());
  m->name_ = name;
  m->path_ = path;
  QUANTD_ASSIGN_OR_RETURN(m->params_, parse_llama_config(*gguf));
  for (const GgufTensor& t : gguf->tensors()) {
    m->tensors_.push_back({t.name, static_cast<kernels::Format>(t.ggml_type), t.ne, t.data, t.bytes, true});
  }
  m->index_tensors();
  QUANTD_RETURN_IF_ERROR(check_llama_tensors(*m));
  if (options.target) {
    RequantizeOptions r;
    r.target = *options.target;
    r.keep_quantized = true;
    r.threads = options.threads;
    QUANTD_RETURN_IF_ERROR(check_requantize_options(r));
    for (ModelTensor& t : m->tensors_) {
      QUANTD_ASSIGN_OR_RETURN(RequantizedTensor converted, requantize_tensor(t, r));
      if (!converted.owned) continue;
      // The converted copy replaces the mapped one in memory, not beside it.
      gguf->release_pages(t.data, t.bytes);
      t = std::move(converted.tensor);
      m->owned_.push_back(std::move(converted.owned));
    }
    m->index_tensors();
  }
  m->gguf_ = std::move(gguf);
  return std::shared_ptr<const Model>(std::move(m));
}

std::shared_ptr<const Model> Model::derive(const std::string& name, std::shared_ptr<const Model> source,
                                           std::vector<ModelTensor> tensors,
                                           std::vector<std::unique_ptr<uint8_t[]>> owned) {
  std::shared_ptr<Model> m(new Model());
  m->name_ = name;
  m->path_ = source->path_;
  m->gguf_ = source->gguf_;
  m->params_ = source->params_;
  m->tensors_ = std::move(tensors);
  m->owned_ = std::move(owned);
  m->index_tensors();
  m->source_ = std::move(source);
  return m;
}

void Model::index_tensors() {
  by_name_.clear();
  bytes_mapped_ = bytes_allocated_ = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const ModelTensor& t = tensors_[i];
    (t.mapped ? bytes_mapped_ : bytes_allocated_) += t.bytes;
    by_name_.emplace(t.name, i);
  }
}

const ModelTensor* Model::tensor(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

uint64_t Model::bytes_mapped() const { return bytes_mapped_; }
uint64_t Model::bytes_allocated() const { return bytes_allocated_; }

}  // namespace quantd::model
