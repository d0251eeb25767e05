// Shared helpers for the model tests: where the test models are, files in and out, a
// recursive comparison of metadata values, and the largest-allocation tracker.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/model/gguf.h"

namespace quantd::model::testing {

inline std::string models_dir() {
  const char* env = std::getenv("QUANTD_MODELS_DIR");
  return env != nullptr && *env != '\0' ? env : QUANTD_DEFAULT_MODELS_DIR;
}
inline std::string model_path(const std::string& file) { return models_dir() + "/" + file; }

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A fresh path under gtest's temporary directory, unique per process and call.
inline std::string temp_path(const std::string& stem) {
  static int counter = 0;
  return ::testing::TempDir() + "quantd_model_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) +
         "_" + stem;
}

// Same type, same value; floats compared by bits (NaN payloads and -0 included).
inline bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.value.index() != b.value.index()) return false;
  if (const auto* da = std::get_if<double>(&a.value)) {
    const double db = std::get<double>(b.value);
    return std::memcmp(da, &db, sizeof db) == 0;
  }
  if (const auto* aa = std::get_if<GgufArray>(&a.value)) {
    const auto& ab = std::get<GgufArray>(b.value);
    if (aa->element_type != ab.element_type || aa->values.size() != ab.values.size()) return false;
    for (size_t i = 0; i < aa->values.size(); ++i) {
      if (!same_value(aa->values[i], ab.values[i])) return false;
    }
    return true;
  }
  if (const auto* u = std::get_if<uint64_t>(&a.value)) return *u == std::get<uint64_t>(b.value);
  if (const auto* i = std::get_if<int64_t>(&a.value)) return *i == std::get<int64_t>(b.value);
  if (const auto* x = std::get_if<bool>(&a.value)) return *x == std::get<bool>(b.value);
  return std::get<std::string>(a.value) == std::get<std::string>(b.value);
}

// The spec that rewrites `file` as it is: metadata in file order, tensors in file order.
inline GgufWriteSpec spec_of(const GgufFile& file) {
  GgufWriteSpec spec;
  for (const std::string& key : file.metadata_order()) spec.metadata.emplace_back(key, file.metadata().at(key));
  spec.tensors = file.tensors();
  spec.alignment = file.alignment();
  return spec;
}

// Writes `source` again with `edit` applied to its spec (metadata and/or tensors), returns
// the new file's path.
inline std::string edited_copy(const std::string& source, const std::function<void(GgufWriteSpec&)>& edit) {
  auto file = GgufFile::open(source);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return "";
  GgufWriteSpec spec = spec_of(**file);
  edit(spec);
  const std::string path = temp_path("edited.gguf");
  const absl::Status s = write_gguf(path, spec);
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

// `source` with value `index` of its F32 tensor `tensor` replaced by `value` (a NaN, an Inf).
inline std::string with_value(const std::string& source, const std::string& tensor, int64_t index, float value) {
  std::vector<float> poisoned;
  return edited_copy(source, [&](GgufWriteSpec& s) {
    for (GgufTensor& t : s.tensors) {
      if (t.name != tensor) continue;
      const auto* x = reinterpret_cast<const float*>(t.data);
      poisoned.assign(x, x + t.elements());
      poisoned[index] = value;
      t.data = reinterpret_cast<const uint8_t*>(poisoned.data());
    }
  });
}

// Largest single operator new request since the last reset (alloc_tracker.cc).
size_t largest_allocation();
void reset_largest_allocation();

}  // namespace quantd::model::testing
