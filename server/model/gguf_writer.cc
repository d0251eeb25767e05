// The GGUF writer: checks the spec as strictly as the reader checks a file (so whatever it
// writes, the reader accepts), then writes header, metadata, tensor infos and the padded data
// to a temporary file renamed over the target.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "quantd/kernels/formats.h"
#include "server/model/gguf.h"
#include "server/common/status.h"

namespace quantd::model {
namespace {

using ::quantd::sv;

constexpr uint32_t kVersion = 3;

// Serialised header, metadata and tensor infos (small: the bulk is the tensor data).
class Buffer {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes_.append(s);
  }
  void pad_to(uint64_t alignment) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment, '\0');
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

template <typename T>
absl::Status check_range(const std::string& what, const GgufValue& v) {
  if (const auto* u = std::get_if<uint64_t>(&v.value)) {
    if (*u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(what, ": value ", *u, " does not fit ", gguf_type_name(v.type)));
  }
  if (const auto* i = std::get_if<int64_t>(&v.value)) {
    if (*i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
        (*i < 0 || static_cast<uint64_t>(*i) <= static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat(what, ": value ", *i, " does not fit ", gguf_type_name(v.type)));
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", gguf_type_name(v.type), " holds no integer"));
}

absl::Status check_value(const std::string& what, const GgufValue& v, int depth) {
  switch (v.type) {
    case GgufType::kU8: return check_range<uint8_t>(what, v);
    case GgufType::kI8: return check_range<int8_t>(what, v);
    case GgufType::kU16: return check_range<uint16_t>(what, v);
    case GgufType::kI16: return check_range<int16_t>(what, v);
    case GgufType::kU32: return check_range<uint32_t>(what, v);
    case GgufType::kI32: return check_range<int32_t>(what, v);
    case GgufType::kU64: return check_range<uint64_t>(what, v);
    case GgufType::kI64: return check_range<int64_t>(what, v);
    case GgufType::kF32:
    case GgufType::kF64:
      if (std::holds_alternative<double>(v.value)) return absl::OkStatus();
      break;
    case GgufType::kBool:
      if (std::holds_alternative<bool>(v.value)) return absl::OkStatus();
      break;
    case GgufType::kString:
      if (std::holds_alternative<std::string>(v.value)) return absl::OkStatus();
      break;
    case GgufType::kArray: {
      const auto* a = std::get_if<GgufArray>(&v.value);
      if (a == nullptr) break;
      if (depth >= kGgufMaxArrayDepth) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": arrays nested deeper than ", kGgufMaxArrayDepth));
      }
      if (static_cast<uint32_t>(a->element_type) > static_cast<uint32_t>(GgufType::kF64)) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": element type ", gguf_type_name(a->element_type)));
      }
      for (size_t j = 0; j < a->values.size(); ++j) {
        const GgufValue& e = a->values[j];
        const std::string ew = absl::StrCat(what, " [", j, "]");
        if (e.type != a->element_type) {
          return absl::InvalidArgumentError(absl::StrCat(ew, ": element of type ", gguf_type_name(e.type),
                                                         " in an array of ", gguf_type_name(a->element_type)));
        }
        QUANTD_RETURN_IF_ERROR(check_value(ew, e, depth + 1));
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(what, ": unknown value type ", gguf_type_name(v.type)));
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": the value held does not match type ",
                                                 gguf_type_name(v.type)));
}

// Called after check_value(), so every get<> below holds.
void put_value(Buffer& b, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kU8: b.put(static_cast<uint8_t>(std::get<uint64_t>(v.value))); break;
    case GgufType::kU16: b.put(static_cast<uint16_t>(std::get<uint64_t>(v.value))); break;
    case GgufType::kU32: b.put(static_cast<uint32_t>(std::get<uint64_t>(v.value))); break;
    case GgufType::kU64: b.put(std::get<uint64_t>(v.value)); break;
    // Signed types may hold either alternative (a builder took a uint64 for a small value).
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64: {
      const int64_t i = std::holds_alternative<int64_t>(v.value)
                            ? std::get<int64_t>(v.value)
                            : static_cast<int64_t>(std::get<uint64_t>(v.value));
      if (v.type == GgufType::kI8) b.put(static_cast<int8_t>(i));
      if (v.type == GgufType::kI16) b.put(static_cast<int16_t>(i));
      if (v.type == GgufType::kI32) b.put(static_cast<int32_t>(i));
      if (v.type == GgufType::kI64) b.put(i);
      break;
    }
    case GgufType::kF32: b.put(static_cast<float>(std::get<double>(v.value))); break;
    case GgufType::kF64: b.put(std::get<double>(v.value)); break;
    case GgufType::kBool: b.put<uint8_t>(std::get<bool>(v.value) ? 1 : 0); break;
    case GgufType::kString: b.put_string(std::get<std::string>(v.value)); break;
    case GgufType::kArray: {
      const auto& a = std::get<GgufArray>(v.value);
      b.put(static_cast<uint32_t>(a.element_type));
      b.put<uint64_t>(a.values.size());
      for (const GgufValue& e : a.values) put_value(b, e);
      break;
    }
  }
}

// Checks a tensor as the reader would and sets its byte size.
absl::Status check_tensor(GgufTensor& t, bool can_fill) {
  const std::string what = absl::StrCat("tensor '", t.name, "'");
  if (t.name.empty()) return absl::InvalidArgumentError("tensor with an empty name");
  if (t.ne.empty() || t.ne.size() > 4) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": n_dims ", t.ne.size(), " is outside [1, 4]"));
  }
  int64_t elements = 1;
  for (size_t d = 0; d < t.ne.size(); ++d) {
    if (t.ne[d] < 1 || __builtin_mul_overflow(elements, t.ne[d], &elements)) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ne[", d, "] = ", t.ne[d], " is invalid"));
    }
  }
  const kernels::FormatInfo* info = kernels::find_format(t.ggml_type);
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": type id ", t.ggml_type, " (",
                                                   sv(ggml_type_name(t.ggml_type)), ") is not supported"));
  }
  if (t.ne[0] % info->block_elems != 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ne[0] = ", t.ne[0], " is not a multiple of the ",
                                                   sv(info->name), " block size ", info->block_elems));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(elements / info->block_elems),
                             static_cast<uint64_t>(info->block_bytes), &bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": byte size overflows"));
  }
  if (t.bytes != 0 && t.bytes != bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": bytes ", t.bytes, " but ", sv(info->name),
                                                   " of this shape takes ", bytes));
  }
  t.bytes = bytes;
  if (t.data == nullptr && !can_fill) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no data and no fill function"));
  }
  return absl::OkStatus();
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

absl::Status io_error(const std::string& path, const char* what) {
  return absl::InternalError(absl::StrCat("cannot ", what, " '", path, "': ", std::strerror(errno)));
}

}  // namespace

absl::Status write_gguf(const std::string& path, const GgufWriteSpec& spec) {
  const uint64_t a = spec.alignment;
  if (a == 0 || (a & (a - 1)) != 0 || a > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("alignment ", a, " is not a power of two that fits u32"));
  }
  std::vector<std::pair<std::string, GgufValue>> metadata = spec.metadata;
  std::set<std::string> keys;
  bool has_alignment = false;
  for (const auto& [key, value] : metadata) {
    const std::string what = absl::StrCat("metadata key '", key, "'");
    if (key.empty()) return absl::InvalidArgumentError("metadata key is empty");
    if (!keys.insert(key).second) return absl::InvalidArgumentError(absl::StrCat(what, ": duplicate key"));
    QUANTD_RETURN_IF_ERROR(check_value(what, value, 0));
    if (key == "general.alignment") {
      if (value.type != GgufType::kU32 || std::get<uint64_t>(value.value) != a) {
        return absl::InvalidArgumentError(absl::StrCat(what, " must be u32 ", a, ", the alignment written"));
      }
      has_alignment = true;
    }
  }
  if (!has_alignment && a != 32) metadata.emplace_back("general.alignment", GgufValue::u32(static_cast<uint32_t>(a)));

  std::vector<GgufTensor> tensors = spec.tensors;
  std::set<std::string> names;
  for (GgufTensor& t : tensors) {
    QUANTD_RETURN_IF_ERROR(check_tensor(t, static_cast<bool>(spec.fill)));
    if (!names.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "': duplicate tensor name"));
    }
  }

  Buffer head;
  head.put<uint32_t>(0x46554747);
  head.put<uint32_t>(kVersion);
  head.put<uint64_t>(tensors.size());
  head.put<uint64_t>(metadata.size());
  for (const auto& [key, value] : metadata) {
    head.put_string(key);
    head.put(static_cast<uint32_t>(value.type));
    put_value(head, value);
  }
  uint64_t offset = 0;
  for (GgufTensor& t : tensors) {
    t.offset = offset;
    head.put_string(t.name);
    head.put<uint32_t>(t.ne.size());
    for (int64_t n : t.ne) head.put<uint64_t>(n);
    head.put<uint32_t>(t.ggml_type);
    head.put<uint64_t>(t.offset);
    offset += (t.bytes + a - 1) / a * a;
  }
  head.pad_to(a);

  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  std::unique_ptr<std::FILE, FileCloser> out(std::fopen(tmp.c_str(), "wb"));
  if (!out) return io_error(tmp, "create");
  auto fail = [&](const char* what) {
    absl::Status s = io_error(tmp, what);
    out.reset();
    std::remove(tmp.c_str());
    return s;
  };
  if (std::fwrite(head.bytes().data(), 1, head.bytes().size(), out.get()) != head.bytes().size()) {
    return fail("write");
  }
  const std::vector<uint8_t> zeros(a, 0);
  std::vector<uint8_t> filled;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensor& t = tensors[i];
    const uint8_t* data = t.data;
    if (data == nullptr) {
      filled.assign(t.bytes, 0);
      absl::Status s = spec.fill(i, std::span<uint8_t>(filled.data(), filled.size()));
      if (!s.ok()) {
        out.reset();
        std::remove(tmp.c_str());
        return s;
      }
      data = filled.data();
    }
    const uint64_t pad = (a - t.bytes % a) % a;
    if (std::fwrite(data, 1, t.bytes, out.get()) != t.bytes ||
        std::fwrite(zeros.data(), 1, pad, out.get()) != pad) {
      return fail("write");
    }
  }
  if (std::fflush(out.get()) != 0) return fail("flush");
  out.reset();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = io_error(path, "rename onto");
    std::remove(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

}  // namespace quantd::model
