#include "server/model/quantize_model.h"

#include <omp.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"

namespace quantd::model {
namespace {

using kernels::Format;

bool kept_by_pattern(const std::vector<std::string>& keep, const std::string& name) {
  for (const std::string& p : keep) {
    if (glob_match(p, name)) return true;
  }
  return false;
}

// ggml's llama_ftype numbers for general.file_type ("mostly" this type).
uint32_t file_type_of(Format f) {
  switch (f) {
    case Format::kF32: return 0;
    case Format::kF16: return 1;
    case Format::kQ4_0: return 2;
    case Format::kQ4_1: return 3;
    case Format::kQ8_0: return 7;
    case Format::kQ5_0: return 8;
    case Format::kQ5_1: return 9;
    case Format::kBF16: return 32;
    default: return 0;
  }
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& text) {
  // Iterative matcher with backtracking to the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::StatusOr<QuantizeModelResult> quantize_model(std::shared_ptr<const Model> source, const std::string& name,
                                                   const QuantizeModelOptions& options) {
  const kernels::KernelTable& k = kernels::kernels();
  const kernels::FormatInfo* target = kernels::find_format(options.target);
  const kernels::FormatInfo* fallback = kernels::find_format(options.fallback);
  if (target == nullptr || k[options.target].vec_dot == nullptr) {
    return absl::InvalidArgumentError("target type is not a weight format quantd can serve");
  }
  if (fallback == nullptr || fallback->is_block_quantized || k[options.fallback].vec_dot == nullptr) {
    return absl::InvalidArgumentError("fallback type must be f32, f16 or bf16");
  }

  QuantizeModelResult result;
  std::vector<ModelTensor> tensors;
  std::vector<std::unique_ptr<uint8_t[]>> owned;
  for (const ModelTensor& t : source->tensors()) {
    TensorReport r{t.name, t.format, t.format, t.bytes, t.bytes, std::nullopt, ""};
    ModelTensor out = t;
    if (t.ne.size() < 2) {
      r.note = "kept: 1-D";
    } else if (kept_by_pattern(options.keep, t.name)) {
      r.note = "kept: matches --keep";
    } else {
      const kernels::FormatInfo* to = target;
      if (t.ne[0] % target->block_elems != 0) {
        to = fallback;
        r.note = absl::StrCat("fallback: row of ", t.ne[0], " values is not a multiple of ", target->block_elems);
      }
      const int64_t cols = t.ne[0], rows = t.rows();
      const size_t in_row = kernels::row_bytes(*kernels::find_format(t.format), cols);
      const size_t out_row = kernels::row_bytes(*to, cols);
      auto buffer = std::make_unique<uint8_t[]>(out_row * rows);
      std::vector<quant::ErrorAccumulator> partial(options.threads > 0 ? options.threads : 1);
#pragma omp parallel num_threads(static_cast<int>(partial.size()))
      {
        std::vector<float> src(cols), back(cols);
        quant::ErrorAccumulator& acc = partial[omp_get_thread_num()];
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; ++row) {
          k[t.format].dequantize_row(t.data + row * in_row, src.data(), cols);
          k[to->format].quantize_row(src.data(), buffer.get() + row * out_row, cols);
          k[to->format].dequantize_row(buffer.get() + row * out_row, back.data(), cols);
          acc.add(src.data(), back.data(), cols);
        }
      }
      for (size_t i = 1; i < partial.size(); ++i) partial[0].merge(partial[i]);
      r.error = partial[0].stats();
      out.format = to->format;
      out.data = buffer.get();
      out.bytes = out_row * rows;
      out.mapped = false;
      owned.push_back(std::move(buffer));
      r.after = to->format;
      r.bytes_after = out.bytes;
    }
    tensors.push_back(std::move(out));
    result.tensors.push_back(std::move(r));
  }
  result.model = Model::derive(name, std::move(source), std::move(tensors), std::move(owned));
  return result;
}

absl::Status write_model(const Model& model, Format target, const std::string& path) {
  GgufWriteSpec spec;
  spec.alignment = model.gguf().alignment();
  for (const auto& [key, value] : model.gguf().metadata()) {
    if (key == "general.file_type" || key == "general.quantization_version" || key == "general.alignment") continue;
    spec.metadata.emplace_back(key, value);
  }
  GgufValue file_type{GgufType::kU32, uint64_t{file_type_of(target)}};
  spec.metadata.emplace_back("general.file_type", file_type);
  GgufValue qversion{GgufType::kU32, uint64_t{2}};
  spec.metadata.emplace_back("general.quantization_version", qversion);
  if (spec.alignment != 32) spec.metadata.emplace_back("general.alignment", GgufValue{GgufType::kU32, spec.alignment});
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
