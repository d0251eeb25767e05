// The dump: header, metadata (arrays abbreviated), tensors with shape, type, offset and size.
#include "server/model/gguf_dump.h"

#include <cstdio>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace quantd::model {

std::string format_gguf_value(const GgufValue& v, const GgufDumpOptions& options) {
  if (const auto* u = std::get_if<uint64_t>(&v.value)) return absl::StrCat(*u);
  if (const auto* i = std::get_if<int64_t>(&v.value)) return absl::StrCat(*i);
  if (const auto* d = std::get_if<double>(&v.value)) return absl::StrFormat("%.9g", *d);
  if (const auto* b = std::get_if<bool>(&v.value)) return *b ? "true" : "false";
  if (const auto* s = std::get_if<std::string>(&v.value)) {
    std::string text = absl::CHexEscape(s->substr(0, options.max_string_bytes));
    if (s->size() > options.max_string_bytes) text += "...";
    return absl::StrCat("\"", text, "\"");
  }
  const auto& a = std::get<GgufArray>(v.value);
  std::vector<std::string> parts;
  for (size_t j = 0; j < a.values.size() && j < options.max_array_values; ++j) {
    parts.push_back(format_gguf_value(a.values[j], options));
  }
  std::string text = absl::StrCat("[", absl::StrJoin(parts, ", "));
  if (a.values.size() > options.max_array_values) {
    absl::StrAppend(&text, ", ... (", a.values.size(), " values)");
  }
  return text + "]";
}

void dump_gguf(const GgufFile& file, std::ostream& out, const GgufDumpOptions& options) {
  out << "GGUF version " << file.version() << ", alignment " << file.alignment() << ", "
      << file.file_size() << " bytes, tensor data at offset " << file.data_offset() << "\n";
  out << "* " << file.metadata().size() << " metadata key/value pair(s)\n";
  size_t n = 0;
  for (const std::string& key : file.metadata_order()) {
    const GgufValue& v = file.metadata().at(key);
    std::string type = gguf_type_name(v.type);
    if (const auto* a = std::get_if<GgufArray>(&v.value)) {
      type = absl::StrCat("array[", gguf_type_name(a->element_type), "]");
    }
    out << absl::StrFormat("%6d: %-14s %s = %s\n", ++n, type, key, format_gguf_value(v, options));
  }
  out << "* " << file.tensors().size() << " tensor(s)\n";
  out << absl::StrFormat("%6s  %-28s %-24s %-5s %12s %12s\n", "#", "name", "shape (ne0, ne1, ...)", "type",
                         "file offset", "bytes");
  n = 0;
  for (const GgufTensor& t : file.tensors()) {
    out << absl::StrFormat("%6d: %-28s %-24s %-5s %12d %12d\n", ++n, t.name, absl::StrJoin(t.ne, " x "),
                           std::string(ggml_type_name(t.ggml_type)), file.data_offset() + t.offset, t.bytes);
  }
}

}  // namespace quantd::model
