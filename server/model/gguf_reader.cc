// The GGUF reader: validates every field against the bytes that remain before it allocates,
// so a truncated or hostile file fails with INVALID_ARGUMENT naming the field, the value and
// its file offset. Nothing here trusts a count: arrays are sized only after the bytes their
// smallest possible elements need are known to be present.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "quantd/kernels/formats.h"
#include "server/model/gguf.h"
#include "server/model/gguf_parser.h"
#include "server/common/status.h"

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader reads little-endian fields in place");

namespace quantd::model {
namespace {

using ::quantd::sv;

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
// Smallest encodings, used to bound counts by the bytes left before anything is reserved:
// a key/value pair is a key length (8), a type (4) and at least one byte of value; a tensor
// info is a name length (8), n_dims (4), at least one ne (8), a type (4) and an offset (8).
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr uint32_t kMaxDims = 4;

// Fixed size of a scalar metadata type; 0 for string and array.
uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    case GgufType::kString: case GgufType::kArray: return 0;
  }
  return 0;
}

// Bytes the smallest value of type t occupies: a string is at least its length field, an
// array at least its element type and count.
uint64_t min_encoded_size(GgufType t) {
  if (t == GgufType::kString) return 8;
  if (t == GgufType::kArray) return 4 + 8;
  return scalar_size(t);
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kF64); }

std::string quoted(std::string_view s) {
  // Names come from the file: escape them and keep messages short.
  constexpr size_t kMax = 96;
  std::string out = absl::CHexEscape(sv(s.substr(0, kMax)));
  if (s.size() > kMax) out += "...";
  return absl::StrCat("'", out, "'");
}

// A bounds-checked little-endian reader over the file's bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  absl::Status error(std::string_view what, uint64_t at, std::string_view detail) const {
    return absl::InvalidArgumentError(absl::StrCat(sv(what), " at offset ", at, ": ", sv(detail)));
  }

  template <typename T>
  absl::Status read(std::string_view what, T* out) {
    if (remaining() < sizeof(T)) {
      return error(what, pos_, absl::StrCat("needs ", sizeof(T), " bytes, the file ends after ",
                                            remaining()));
    }
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }

  absl::Status read_string(std::string_view what, std::string* out) {
    const uint64_t at = pos_;
    uint64_t len = 0;
    QUANTD_RETURN_IF_ERROR(read(what, &len));
    if (len > remaining()) {
      return error(what, at, absl::StrCat("string length ", len, " exceeds the ", remaining(),
                                          " bytes left in the file"));
    }
    out->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return absl::OkStatus();
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

}  // namespace

// Fills a GgufFile from its bytes, in file order: header, metadata, tensor infos, data.
class GgufParser {
 public:
  explicit GgufParser(GgufFile* file) : f_(file), c_(file->bytes_) {}

  absl::Status run() {
    QUANTD_RETURN_IF_ERROR(header());
    for (uint64_t i = 0; i < n_kv_; ++i) QUANTD_RETURN_IF_ERROR(key_value(i));
    QUANTD_RETURN_IF_ERROR(alignment());
    f_->tensors_.reserve(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; ++i) QUANTD_RETURN_IF_ERROR(tensor_info(i));
    return tensor_data();
  }

 private:
  absl::Status header() {
    uint32_t magic = 0;
    QUANTD_RETURN_IF_ERROR(c_.read("magic", &magic));
    if (magic != kMagic) {
      return c_.error("magic", 0, absl::StrCat("0x", absl::Hex(magic, absl::kZeroPad8),
                                               " is not \"GGUF\" (0x46554747 little-endian)"));
    }
    uint32_t version = 0;
    QUANTD_RETURN_IF_ERROR(c_.read("version", &version));
    if (version != 2 && version != 3) {
      std::string why = "quantd reads versions 2 and 3";
      if (version == 1) why = "version 1 has 32-bit counts; re-convert the model";
      if (version == 0x02000000 || version == 0x03000000) why = "a big-endian file";
      return c_.error("version", 4, absl::StrCat(version, " is not supported (", why, ")"));
    }
    f_->version_ = version;
    QUANTD_RETURN_IF_ERROR(c_.read("tensor count", &n_tensors_));
    QUANTD_RETURN_IF_ERROR(c_.read("metadata count", &n_kv_));
    // Both counts must fit in what is left, each entry at its smallest.
    if (n_kv_ > c_.remaining() / kMinKvBytes) {
      return c_.error("metadata count", 16, absl::StrCat(n_kv_, " key/value pairs cannot fit in the ",
                                                         c_.remaining(), " bytes left"));
    }
    if (n_tensors_ > (c_.remaining() - n_kv_ * kMinKvBytes) / kMinTensorInfoBytes) {
      return c_.error("tensor count", 8, absl::StrCat(n_tensors_, " tensor infos cannot fit in the ",
                                                      c_.remaining(), " bytes left"));
    }
    return absl::OkStatus();
  }

  absl::Status key_value(uint64_t i) {
    const uint64_t at = c_.pos();
    std::string key;
    QUANTD_RETURN_IF_ERROR(c_.read_string(absl::StrCat("metadata key #", i), &key));
    if (key.empty()) return c_.error(absl::StrCat("metadata key #", i), at, "empty key");
    const std::string what = absl::StrCat("metadata key ", quoted(key));
    if (f_->metadata_.count(key)) return c_.error(what, at, "duplicate key");
    const uint64_t type_at = c_.pos();
    uint32_t type = 0;
    QUANTD_RETURN_IF_ERROR(c_.read(what, &type));
    if (!valid_type(type)) {
      return c_.error(what, type_at, absl::StrCat("value type ", type, " is not a GGUF type (0..12)"));
    }
    GgufValue value;
    QUANTD_RETURN_IF_ERROR(read_value(what, static_cast<GgufType>(type), 0, &value));
    f_->metadata_order_.push_back(key);
    f_->metadata_.emplace(std::move(key), std::move(value));
    return absl::OkStatus();
  }

  absl::Status read_value(const std::string& what, GgufType type, int depth, GgufValue* out) {
    if (++n_values_ > kGgufMaxMetadataValues) {
      return c_.error(what, c_.pos(), absl::StrCat("more than ", kGgufMaxMetadataValues,
                                                   " metadata values in the file"));
    }
    out->type = type;
    const uint64_t at = c_.pos();
    switch (type) {
      case GgufType::kU8: return read_int<uint8_t, uint64_t>(what, out);
      case GgufType::kI8: return read_int<int8_t, int64_t>(what, out);
      case GgufType::kU16: return read_int<uint16_t, uint64_t>(what, out);
      case GgufType::kI16: return read_int<int16_t, int64_t>(what, out);
      case GgufType::kU32: return read_int<uint32_t, uint64_t>(what, out);
      case GgufType::kI32: return read_int<int32_t, int64_t>(what, out);
      case GgufType::kU64: return read_int<uint64_t, uint64_t>(what, out);
      case GgufType::kI64: return read_int<int64_t, int64_t>(what, out);
      case GgufType::kF32: {
        float v = 0;
        QUANTD_RETURN_IF_ERROR(c_.read(what, &v));
        out->value = double{v};
        return absl::OkStatus();
      }
      case GgufType::kF64: {
        double v = 0;
        QUANTD_RETURN_IF_ERROR(c_.read(what, &v));
        out->value = v;
        return absl::OkStatus();
      }
      case GgufType::kBool: {
        uint8_t v = 0;
        QUANTD_RETURN_IF_ERROR(c_.read(what, &v));
        if (v > 1) return c_.error(what, at, absl::StrCat("bool value ", int{v}, " is neither 0 nor 1"));
        out->value = v == 1;
        return absl::OkStatus();
      }
      case GgufType::kString: {
        std::string s;
        QUANTD_RETURN_IF_ERROR(c_.read_string(what, &s));
        out->value = std::move(s);
        return absl::OkStatus();
      }
      case GgufType::kArray: return read_array(what, depth, out);
    }
    return c_.error(what, at, "unreachable value type");
  }

  template <typename Stored, typename Held>
  absl::Status read_int(const std::string& what, GgufValue* out) {
    Stored v{};
    QUANTD_RETURN_IF_ERROR(c_.read(what, &v));
    out->value = static_cast<Held>(v);
    return absl::OkStatus();
  }

  absl::Status read_array(const std::string& what, int depth, GgufValue* out) {
    const uint64_t at = c_.pos();
    if (depth >= kGgufMaxArrayDepth) {
      return c_.error(what, at, absl::StrCat("arrays nested deeper than ", kGgufMaxArrayDepth));
    }
    uint32_t elem = 0;
    QUANTD_RETURN_IF_ERROR(c_.read(what, &elem));
    if (!valid_type(elem)) {
      return c_.error(what, at, absl::StrCat("array element type ", elem, " is not a GGUF type (0..12)"));
    }
    const auto elem_type = static_cast<GgufType>(elem);
    uint64_t count = 0;
    QUANTD_RETURN_IF_ERROR(c_.read(what, &count));
    if (count > c_.remaining() / min_encoded_size(elem_type)) {
      return c_.error(what, at + 4, absl::StrCat("array of ", count, " ", gguf_type_name(elem_type),
                                                 " values cannot fit in the ", c_.remaining(),
                                                 " bytes left"));
    }
    if (count > kGgufMaxMetadataValues - n_values_) {
      return c_.error(what, at + 4, absl::StrCat("array of ", count, " values: more than ", kGgufMaxMetadataValues,
                                                 " metadata values in the file"));
    }
    GgufArray array;
    array.element_type = elem_type;
    array.values.resize(count);
    for (uint64_t j = 0; j < count; ++j) {
      // Scalars fail only on truncation, where the offset says enough; name other elements.
      const bool scalar = scalar_size(elem_type) != 0;
      const std::string elem_what = scalar ? what : absl::StrCat(what, " [", j, "]");
      QUANTD_RETURN_IF_ERROR(read_value(elem_what, elem_type, depth + 1, &array.values[j]));
    }
    out->value = std::move(array);
    return absl::OkStatus();
  }

  absl::Status alignment() {
    auto it = f_->metadata_.find("general.alignment");
    if (it == f_->metadata_.end()) return absl::OkStatus();
    const GgufValue& v = it->second;
    if (v.type != GgufType::kU32) {
      return absl::InvalidArgumentError(absl::StrCat("metadata key 'general.alignment' has type ",
                                                     gguf_type_name(v.type), ", expected u32"));
    }
    const uint64_t a = std::get<uint64_t>(v.value);
    if (a == 0 || (a & (a - 1)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("metadata key 'general.alignment' = ", a, " is not a nonzero power of two"));
    }
    f_->alignment_ = a;
    return absl::OkStatus();
  }

  absl::Status tensor_info(uint64_t i) {
    const uint64_t at = c_.pos();
    GgufTensor t;
    QUANTD_RETURN_IF_ERROR(c_.read_string(absl::StrCat("tensor #", i, " name"), &t.name));
    if (t.name.empty()) return c_.error(absl::StrCat("tensor #", i), at, "empty name");
    const std::string what = absl::StrCat("tensor ", quoted(t.name));
    if (f_->tensor_index_.count(t.name)) return c_.error(what, at, "duplicate tensor name");

    uint64_t field = c_.pos();
    uint32_t n_dims = 0;
    QUANTD_RETURN_IF_ERROR(c_.read(what, &n_dims));
    if (n_dims < 1 || n_dims > kMaxDims) {
      return c_.error(what, field, absl::StrCat("n_dims ", n_dims, " is outside [1, ", kMaxDims, "]"));
    }
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      field = c_.pos();
      uint64_t ne = 0;
      QUANTD_RETURN_IF_ERROR(c_.read(what, &ne));
      // Empty tensors have no use in a model; rejecting ne = 0 keeps every row non-empty.
      if (ne < 1 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return c_.error(what, field, absl::StrCat("ne[", d, "] = ", ne, " is outside [1, 2^63)"));
      }
      if (__builtin_mul_overflow(elements, static_cast<int64_t>(ne), &elements)) {
        return c_.error(what, field, absl::StrCat("ne[", d, "] = ", ne, ": element count overflows"));
      }
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    field = c_.pos();
    QUANTD_RETURN_IF_ERROR(c_.read(what, &t.ggml_type));
    const kernels::FormatInfo* info = kernels::find_format(t.ggml_type);
    if (info == nullptr) {
      return c_.error(what, field, absl::StrCat("type id ", t.ggml_type, " (",
                                                sv(ggml_type_name(t.ggml_type)), ") is not supported"));
    }
    if (t.ne[0] % info->block_elems != 0) {
      return c_.error(what, field, absl::StrCat("ne[0] = ", t.ne[0], " is not a multiple of the ",
                                                sv(info->name), " block size ", info->block_elems));
    }
    // Cannot overflow for the formats here (block_bytes <= 4 * block_elems), but the table
    // may grow: check.
    const uint64_t blocks = static_cast<uint64_t>(elements / info->block_elems);
    if (__builtin_mul_overflow(blocks, static_cast<uint64_t>(info->block_bytes), &t.bytes)) {
      return c_.error(what, field, "byte size overflows");
    }
    field = c_.pos();
    QUANTD_RETURN_IF_ERROR(c_.read(what, &t.offset));
    if (t.offset % f_->alignment_ != 0) {
      return c_.error(what, field, absl::StrCat("data offset ", t.offset, " is not a multiple of the alignment ",
                                                f_->alignment_));
    }
    info_offsets_.push_back(field);
    f_->tensor_index_.emplace(t.name, f_->tensors_.size());
    f_->tensors_.push_back(std::move(t));
    return absl::OkStatus();
  }

  absl::Status tensor_data() {
    const uint64_t size = c_.size();
    const uint64_t a = f_->alignment_;
    // pos <= size < 2^63 and a <= 2^31, so this cannot overflow.
    f_->data_offset_ = (c_.pos() + a - 1) / a * a;
    std::vector<size_t> order(f_->tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
      GgufTensor& t = f_->tensors_[i];
      const uint64_t room = f_->data_offset_ <= size ? size - f_->data_offset_ : 0;
      if (t.offset > room || t.bytes > room - t.offset) {
        return c_.error(absl::StrCat("tensor ", quoted(t.name)), info_offsets_[i],
                        absl::StrCat("data [", f_->data_offset_, " + ", t.offset, ", +", t.bytes,
                                     " bytes) ends past the end of the file (", size, " bytes)"));
      }
      t.data = f_->bytes_.data() + f_->data_offset_ + t.offset;
    }
    // Overlapping tensors would alias each other's data: no writer produces them.
    std::stable_sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return f_->tensors_[x].offset < f_->tensors_[y].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const GgufTensor& prev = f_->tensors_[order[k - 1]];
      const GgufTensor& t = f_->tensors_[order[k]];
      if (t.offset < prev.offset + prev.bytes) {
        return c_.error(absl::StrCat("tensor ", quoted(t.name)), info_offsets_[order[k]],
                        absl::StrCat("data offset ", t.offset, " overlaps tensor ", quoted(prev.name),
                                     " [", prev.offset, ", ", prev.offset + prev.bytes, ")"));
      }
    }
    return absl::OkStatus();
  }

  GgufFile* f_;
  Cursor c_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  uint64_t n_values_ = 0;
  std::vector<uint64_t> info_offsets_;  // file offset of each tensor's offset field
};

absl::Status internal::run_gguf_parser(GgufFile* file) { return GgufParser(file).run(); }

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::parse(std::span<const uint8_t> bytes) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->bytes_ = bytes;
  QUANTD_RETURN_IF_ERROR(GgufParser(file.get()).run());
  return file;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace quantd::model
