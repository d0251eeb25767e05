// GGUF files (versions 2 and 3): a validating, zero-copy reader over an mmap, and a writer.
//
// Format (docs/gguf.md of ggml): magic "GGUF", u32 version, u64 tensor count, u64 metadata
// count; metadata key/value pairs (string key, u32 value type, value; arrays carry an element
// type and a u64 count, and may nest); tensor infos (name, u32 n_dims, u64 ne[n_dims] with
// ne[0] the fastest-varying dimension, u32 ggml type, u64 offset relative to the data section);
// padding to general.alignment (default 32); the tensor data. Everything is little-endian.
//
// The reader checks every count, length, offset and size against the bytes that remain
// before it allocates or reads, so a hostile file fails with INVALID_ARGUMENT naming the field
// and its file offset, never a crash or a hang.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace quantd::model {

// GGUF metadata value types (their numbers are in the file).
enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

struct GgufValue;
struct GgufArray {
  GgufType element_type = GgufType::kU8;
  std::vector<GgufValue> values;
};
struct GgufValue {
  GgufType type = GgufType::kU8;
  // Integers of every width are held as int64/uint64, floats as double; `type` keeps the width.
  // (f32 -> double -> f32 is exact, so a value read and written again keeps its bits.)
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> value;

  // Builders (the writer checks that the value fits the width).
  static GgufValue u8(uint8_t v) { return {GgufType::kU8, uint64_t{v}}; }
  static GgufValue i8(int8_t v) { return {GgufType::kI8, int64_t{v}}; }
  static GgufValue u16(uint16_t v) { return {GgufType::kU16, uint64_t{v}}; }
  static GgufValue i16(int16_t v) { return {GgufType::kI16, int64_t{v}}; }
  static GgufValue u32(uint32_t v) { return {GgufType::kU32, uint64_t{v}}; }
  static GgufValue i32(int32_t v) { return {GgufType::kI32, int64_t{v}}; }
  static GgufValue u64(uint64_t v) { return {GgufType::kU64, v}; }
  static GgufValue i64(int64_t v) { return {GgufType::kI64, v}; }
  static GgufValue f32(float v) { return {GgufType::kF32, double{v}}; }
  static GgufValue f64(double v) { return {GgufType::kF64, v}; }
  static GgufValue boolean(bool v) { return {GgufType::kBool, v}; }
  static GgufValue string(std::string v) { return {GgufType::kString, std::move(v)}; }
  static GgufValue array(GgufType element_type, std::vector<GgufValue> values) {
    return {GgufType::kArray, GgufArray{element_type, std::move(values)}};
  }
};

// "u32", "string", "array", ... (gguf.md spelling); "type N" for an unknown number.
std::string gguf_type_name(GgufType type);
// ggml's name for a tensor type id, including the ones quantd does not implement ("q4_K");
// "unknown" for ids ggml does not define either.
std::string_view ggml_type_name(uint32_t type_id);

struct GgufTensor {
  std::string name;
  std::vector<int64_t> ne;     // ne[0] = row length (fastest), as in the file
  uint32_t ggml_type = 0;      // kernels::Format value for the types quantd implements
  uint64_t offset = 0;         // relative to the data section
  uint64_t bytes = 0;          // size of the data (the writer computes it when 0)
  const uint8_t* data = nullptr;  // into the mapping (reader) or caller memory (writer)
  int64_t elements() const;    // product of ne (the reader has checked it fits)
};

// Limits beyond those of the format, so that a hostile file cannot make the reader recurse
// deeply or allocate far more than the file's size: real models use arrays one level deep and
// about a million metadata values (a 256K vocabulary with scores, types and merges).
inline constexpr int kGgufMaxArrayDepth = 8;
inline constexpr uint64_t kGgufMaxMetadataValues = uint64_t{1} << 22;

// Thread safety: immutable after open()/parse(); any number of threads may read it.
class GgufFile {
 public:
  // Maps the file read-only and validates it. NOT_FOUND / PERMISSION_DENIED when it cannot be
  // opened; INVALID_ARGUMENT "<path>: <field> at offset N: <what is wrong>" for its contents.
  // Tensor types outside kernels::find_format() (K-quants, i-quants, ...) are rejected naming
  // the tensor and the type id; so are n_dims outside [1, 4], ne < 1, ne[0] not a multiple of
  // the block size, data outside the file or overlapping, duplicate names and keys, and
  // general.alignment that is not a u32 power of two.
  static absl::StatusOr<std::unique_ptr<GgufFile>> open(const std::string& path);
  // Same over bytes already in memory (tests, fuzzing). The bytes must outlive the object.
  static absl::StatusOr<std::unique_ptr<GgufFile>> parse(std::span<const uint8_t> bytes);
  ~GgufFile();

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  // The keys in file order (a rewrite in this order reproduces the file).
  const std::vector<std::string>& metadata_order() const { return metadata_order_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;

  // Tells the kernel a range of the mapping will not be read again (a tensor re-quantized at
  // load), so its pages leave the process's resident set; a later read faults them back in
  // from the file, unchanged. No-op for parse()d memory and for ranges smaller than a page.
  void release_pages(const uint8_t* data, uint64_t bytes) const;

  // Typed metadata lookups: NOT_FOUND when absent, INVALID_ARGUMENT when of another type.
  absl::StatusOr<std::string> get_string(const std::string& key) const;
  absl::StatusOr<uint64_t> get_uint(const std::string& key) const;   // any unsigned/signed >= 0 integer
  absl::StatusOr<double> get_float(const std::string& key) const;    // f32 or f64
  absl::StatusOr<const GgufArray*> get_array(const std::string& key) const;

 private:
  friend class GgufParser;
  GgufFile() = default;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<std::string> metadata_order_;
  std::map<std::string, size_t> tensor_index_;
  std::vector<GgufTensor> tensors_;
  std::span<const uint8_t> bytes_;
  void* mapping_ = nullptr;  // munmap'd in the destructor when open() mapped the file
  size_t mapping_size_ = 0;
};

// Writes a GGUF v3 file: the metadata in the given order, then the tensor infos and the data
// in the given order, each tensor padded with zeros to `alignment` (as llama.cpp lays files
// out, so rewriting a llama.cpp file reproduces it byte for byte). Offsets are assigned here.
// general.alignment is added when `alignment` is not the default 32; if present it must agree.
// The file is written next to `path` and renamed over it, so readers never see half a file.
struct GgufWriteSpec {
  std::vector<std::pair<std::string, GgufValue>> metadata;
  std::vector<GgufTensor> tensors;
  uint64_t alignment = 32;
  // For tensors whose `data` is null: called once per such tensor, in order, to fill `out`
  // (tensor.bytes long). Lets a generator stream a file larger than memory.
  std::function<absl::Status(size_t tensor_index, std::span<uint8_t> out)> fill;
};
absl::Status write_gguf(const std::string& path, const GgufWriteSpec& spec);

}  // namespace quantd::model
