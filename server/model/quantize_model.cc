// QuantizeModel's core: the one re-quantizer (requantize.h) over every tensor of a loaded
// model, and the rewrite of the result as GGUF.
#include "server/model/quantize_model.h"

#include <algorithm>
#include <utility>

#include "server/common/status.h"

namespace quantd::model {

using kernels::Format;

absl::StatusOr<QuantizeModelResult> quantize_model(std::shared_ptr<const Model> source, const std::string& name,
                                                   const QuantizeModelOptions& options) {
  RequantizeOptions r;
  r.target = options.target;
  r.fallback = options.fallback;
  r.keep = options.keep;
  r.measure_error = true;
  r.threads = options.threads;
  QUANTD_RETURN_IF_ERROR(check_requantize_options(r));

  QuantizeModelResult result;
  std::vector<ModelTensor> tensors;
  std::vector<std::unique_ptr<uint8_t[]>> owned;
  for (const ModelTensor& t : source->tensors()) {
    QUANTD_ASSIGN_OR_RETURN(RequantizedTensor converted, requantize_tensor(t, r));
    tensors.push_back(std::move(converted.tensor));
    if (converted.owned) owned.push_back(std::move(converted.owned));
    result.tensors.push_back(std::move(converted.report));
  }
  result.model = Model::derive(name, std::move(source), std::move(tensors), std::move(owned));
  return result;
}

absl::Status write_model(const Model& model, Format target, const std::string& path) {
  const GgufFile& source = model.gguf();
  const kernels::FormatInfo* info = kernels::find_format(target);
  if (info == nullptr || info->gguf_file_type < 0) {
    return absl::InvalidArgumentError("write_model: the target format has no GGUF file type");
  }
  GgufWriteSpec spec;
  spec.alignment = source.alignment();
  // The source's keys in the source's order, so a rewrite diffs cleanly against it (and
  // matches llama.cpp's quantizer, which also updates these two keys in place).
  std::vector<std::pair<std::string, GgufValue>> updates = {
      {"general.file_type", GgufValue::u32(static_cast<uint32_t>(info->gguf_file_type))},
      {"general.quantization_version", GgufValue::u32(2)},
  };
  for (const std::string& key : source.metadata_order()) {
    auto it = std::find_if(updates.begin(), updates.end(), [&](const auto& u) { return u.first == key; });
    if (it == updates.end()) {
      spec.metadata.emplace_back(key, source.metadata().at(key));
    } else {
      spec.metadata.push_back(std::move(*it));
      updates.erase(it);
    }
  }
  for (auto& u : updates) spec.metadata.push_back(std::move(u));
  for (const ModelTensor& t : model.tensors()) {
    GgufTensor g;
    g.name = t.name;
    g.ne = t.ne;
    g.ggml_type = static_cast<uint32_t>(t.format);
    g.bytes = t.bytes;
    g.data = t.data;
    spec.tensors.push_back(std::move(g));
  }
  return write_gguf(path, spec);
}

}  // namespace quantd::model
