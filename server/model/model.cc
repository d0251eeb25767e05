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
namespace {

absl::Status check_target(kernels::Format target) {
  const kernels::FormatInfo* info = kernels::find_format(target);
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("target type id ", static_cast<uint32_t>(target),
                                                   " is not a format quantd implements"));
  }
  const std::string err = kernels::select_kernels();
  if (!err.empty()) return absl::FailedPreconditionError(absl::StrCat("kernel selection failed: ", err));
  const kernels::FormatKernels& k = kernels::kernels()[target];
  if (k.quantize_row == nullptr || k.vec_dot == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("target ", std::string(info->name),
                                                   " is an activation format, not a weight format"));
  }
  return absl::OkStatus();
}

}  // namespace

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
    QUANTD_RETURN_IF_ERROR(check_target(*options.target));
    for (size_t i = 0; i < m->tensors_.size(); ++i) {
      const GgufTensor& g = gguf->tensors()[i];
      ModelTensor& t = m->tensors_[i];
      const kernels::Format want = load_format(g, *options.target);
      if (want == t.format) continue;
      QUANTD_ASSIGN_OR_RETURN(ConvertedTensor converted, convert_tensor(g, want, options.threads));
      t.format = want;
      t.data = converted.data.get();
      t.bytes = converted.bytes;
      t.mapped = false;
      m->owned_.push_back(std::move(converted.data));
      // The converted copy replaces the mapped one in memory, not beside it.
      gguf->release_pages(g.data, g.bytes);
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
