// A minimal walker over a known-good GGUF file that records where each structural field is,
// independent of the reader under test, so the corruption test can aim at every field.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace quantd::model::testing {

enum class FieldKind {
  kMagic, kVersion, kTensorCount, kKvCount, kKeyLength, kValueType, kArrayType, kArrayCount,
  kStringLength, kScalar, kNameLength, kNDims, kNe, kTensorType, kTensorOffset,
};

struct Field {
  uint64_t offset;
  int size;  // bytes
  FieldKind kind;
  std::string label;
};

class GgufLayout {
 public:
  explicit GgufLayout(const std::vector<uint8_t>& b) : b_(b) {
    add(FieldKind::kMagic, 4, "magic");
    add(FieldKind::kVersion, 4, "version");
    const uint64_t n_tensors = add(FieldKind::kTensorCount, 8, "tensor count");
    const uint64_t n_kv = add(FieldKind::kKvCount, 8, "kv count");
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = string(FieldKind::kKeyLength, "key length");
      const uint32_t type = static_cast<uint32_t>(add(FieldKind::kValueType, 4, key + " type"));
      value(type, key);
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
      const std::string name = string(FieldKind::kNameLength, "name length");
      const uint32_t n_dims = static_cast<uint32_t>(add(FieldKind::kNDims, 4, name + " n_dims"));
      for (uint32_t d = 0; d < n_dims; ++d) add(FieldKind::kNe, 8, name + " ne[" + std::to_string(d) + "]");
      add(FieldKind::kTensorType, 4, name + " type");
      add(FieldKind::kTensorOffset, 8, name + " offset");
    }
    end_of_infos_ = pos_;
  }

  const std::vector<Field>& fields() const { return fields_; }
  uint64_t end_of_infos() const { return end_of_infos_; }

 private:
  uint64_t add(FieldKind kind, int size, std::string label) {
    uint64_t v = 0;
    std::memcpy(&v, b_.data() + pos_, size);
    fields_.push_back({pos_, size, kind, std::move(label)});
    pos_ += size;
    return v;
  }
  std::string string(FieldKind kind, const std::string& label) {
    const uint64_t len = add(kind, 8, label);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), len);
    pos_ += len;
    return s;
  }
  void value(uint32_t type, const std::string& label) {
    static const int kSize[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      string(FieldKind::kStringLength, label + " string length");
    } else if (type == 9) {
      const uint32_t elem = static_cast<uint32_t>(add(FieldKind::kArrayType, 4, label + " array type"));
      const uint64_t n = add(FieldKind::kArrayCount, 8, label + " array count");
      for (uint64_t i = 0; i < n; ++i) value(elem, label);
    } else {
      add(FieldKind::kScalar, kSize[type], label + " value");
    }
  }

  const std::vector<uint8_t>& b_;
  uint64_t pos_ = 0;
  uint64_t end_of_infos_ = 0;
  std::vector<Field> fields_;
};

}  // namespace quantd::model::testing
