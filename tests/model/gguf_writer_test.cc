// The writer: every metadata type (nested arrays included) and every tensor format survive a
// write and a read; llama.cpp's files are reproduced byte for byte; bad specs are refused.
#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"
#include "quantd/kernels/formats.h"
#include "server/model/gguf.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

using kernels::Format;
using testing::same_value;

std::vector<std::pair<std::string, GgufValue>> every_type() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::pair<std::string, GgufValue>> md = {
      {"t.u8", GgufValue::u8(255)},
      {"t.i8", GgufValue::i8(-128)},
      {"t.u16", GgufValue::u16(65535)},
      {"t.i16", GgufValue::i16(-32768)},
      {"t.u32", GgufValue::u32(4294967295u)},
      {"t.i32", GgufValue::i32(std::numeric_limits<int32_t>::min())},
      {"t.u64", GgufValue::u64(std::numeric_limits<uint64_t>::max())},
      {"t.i64", GgufValue::i64(std::numeric_limits<int64_t>::min())},
      {"t.f32", GgufValue::f32(-0.0f)},
      {"t.f32_nan", GgufValue::f32(nan)},
      {"t.f32_denormal", GgufValue::f32(std::numeric_limits<float>::denorm_min())},
      {"t.f64", GgufValue::f64(9.999999747378752e-06)},
      {"t.f64_inf", GgufValue::f64(-std::numeric_limits<double>::infinity())},
      {"t.bool_true", GgufValue::boolean(true)},
      {"t.bool_false", GgufValue::boolean(false)},
      {"t.string", GgufValue::string("\xe2\x96\x81hello")},
      {"t.string_empty", GgufValue::string("")},
      {"t.string_nul", GgufValue::string(std::string("a\0b", 3))},
      {"t.array_empty", GgufValue::array(GgufType::kU32, {})},
      {"t.array_u8", GgufValue::array(GgufType::kU8, {GgufValue::u8(0), GgufValue::u8(7), GgufValue::u8(255)})},
      {"t.array_i64", GgufValue::array(GgufType::kI64, {GgufValue::i64(-1), GgufValue::i64(1)})},
      {"t.array_f32", GgufValue::array(GgufType::kF32, {GgufValue::f32(1.5f), GgufValue::f32(nan)})},
      {"t.array_f64", GgufValue::array(GgufType::kF64, {GgufValue::f64(0.1)})},
      {"t.array_bool", GgufValue::array(GgufType::kBool, {GgufValue::boolean(true), GgufValue::boolean(false)})},
      {"t.array_string", GgufValue::array(GgufType::kString, {GgufValue::string("<s>"), GgufValue::string("")})},
  };
  // Arrays of arrays, three levels, with mixed element types inside.
  GgufValue inner_a = GgufValue::array(GgufType::kString, {GgufValue::string("x"), GgufValue::string("yz")});
  GgufValue inner_b = GgufValue::array(GgufType::kString, {});
  GgufValue mid = GgufValue::array(GgufType::kArray, {inner_a, inner_b});
  GgufValue mid_i16 = GgufValue::array(GgufType::kArray, {GgufValue::array(GgufType::kI16, {GgufValue::i16(-5)})});
  md.emplace_back("t.nested", GgufValue::array(GgufType::kArray, {mid, mid_i16}));
  // The deepest nesting the reader allows.
  GgufValue deep = GgufValue::array(GgufType::kU16, {GgufValue::u16(1)});
  for (int d = 1; d < kGgufMaxArrayDepth; ++d) deep = GgufValue::array(GgufType::kArray, {deep});
  md.emplace_back("t.deepest", deep);
  return md;
}

TEST(GgufWriter, EveryMetadataTypeAndFormatRoundTrips) {
  GgufWriteSpec spec;
  spec.metadata = every_type();
  spec.alignment = 64;
  // One tensor per supported format, random bytes (block fields need not be sensible here).
  std::mt19937 rng(7);
  std::vector<std::vector<uint8_t>> storage;
  for (const kernels::FormatInfo& info : kernels::all_formats()) {
    GgufTensor t;
    t.name = std::string("tensor.") + std::string(info.name);
    t.ne = {64, 3, 2};
    t.ggml_type = static_cast<uint32_t>(info.format);
    storage.emplace_back(kernels::row_bytes(info, 64) * 6);
    for (uint8_t& b : storage.back()) b = static_cast<uint8_t>(rng());
    t.data = storage.back().data();
    spec.tensors.push_back(t);
  }
  GgufTensor one_d{"norm", {5}, static_cast<uint32_t>(Format::kF32), 0, 0, nullptr};
  const float norm[5] = {1, 2, 3, 4, 5};
  one_d.data = reinterpret_cast<const uint8_t*>(norm);
  spec.tensors.push_back(one_d);

  const std::string path = testing::temp_path("every_type.gguf");
  ASSERT_TRUE(write_gguf(path, spec).ok());
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  const GgufFile& f = **file;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.file_size() % 64, 0u);
  // general.alignment was added since 64 is not the default.
  ASSERT_EQ(f.metadata().size(), spec.metadata.size() + 1);
  EXPECT_EQ(*f.get_uint("general.alignment"), 64u);
  for (size_t i = 0; i < spec.metadata.size(); ++i) {
    EXPECT_EQ(f.metadata_order()[i], spec.metadata[i].first);
    EXPECT_TRUE(same_value(f.metadata().at(spec.metadata[i].first), spec.metadata[i].second)) << spec.metadata[i].first;
  }
  ASSERT_EQ(f.tensors().size(), spec.tensors.size());
  for (size_t i = 0; i < spec.tensors.size(); ++i) {
    const GgufTensor& got = f.tensors()[i];
    EXPECT_EQ(got.name, spec.tensors[i].name);
    EXPECT_EQ(got.ne, spec.tensors[i].ne);
    EXPECT_EQ(got.ggml_type, spec.tensors[i].ggml_type);
    EXPECT_EQ(got.offset % 64, 0u);
    const uint64_t bytes = i < storage.size() ? storage[i].size() : sizeof norm;
    ASSERT_EQ(got.bytes, bytes);
    EXPECT_EQ(0, std::memcmp(got.data, spec.tensors[i].data, bytes)) << got.name;
  }
  // And the file written again from what was read is the same file.
  const std::string again = testing::temp_path("every_type_again.gguf");
  ASSERT_TRUE(write_gguf(again, testing::spec_of(f)).ok());
  EXPECT_EQ(testing::read_bytes(path), testing::read_bytes(again));
  std::remove(path.c_str());
  std::remove(again.c_str());
}

// llama.cpp pads the info section and every tensor to the alignment, as write_gguf does, so
// a read and a rewrite reproduce its files exactly.
TEST(GgufWriter, RewritesLlamaCppFilesByteForByte) {
  for (const char* name : {"stories260K.gguf", "stories260K-llamacpp-q8_0-fallback.gguf",
                           "stories260K-llamacpp-q5_0-fallback.gguf", "stories260K-llamacpp-q4_0-fallback.gguf"}) {
    SCOPED_TRACE(name);
    auto file = GgufFile::open(testing::model_path(name));
    ASSERT_TRUE(file.ok()) << file.status();
    const std::string path = testing::temp_path("rewrite.gguf");
    ASSERT_TRUE(write_gguf(path, testing::spec_of(**file)).ok());
    const std::vector<uint8_t> original = testing::read_bytes(testing::model_path(name));
    const std::vector<uint8_t> rewritten = testing::read_bytes(path);
    ASSERT_EQ(rewritten.size(), original.size());
    EXPECT_TRUE(rewritten == original);
    std::remove(path.c_str());
  }
}

TEST(GgufWriter, FillCallbackStreamsDataAndErrorsLeaveNoFile) {
  GgufWriteSpec spec;
  spec.tensors.push_back({"a", {32, 2}, static_cast<uint32_t>(Format::kQ8_0), 0, 0, nullptr});
  std::vector<size_t> calls;
  spec.fill = [&](size_t i, std::span<uint8_t> out) {
    calls.push_back(i);
    EXPECT_EQ(out.size(), 68u);
    for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<uint8_t>(k);
    return absl::OkStatus();
  };
  const std::string path = testing::temp_path("fill.gguf");
  ASSERT_TRUE(write_gguf(path, spec).ok());
  EXPECT_EQ(calls, std::vector<size_t>{0});
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->tensors()[0].data[67], 67);
  std::remove(path.c_str());

  spec.fill = [](size_t, std::span<uint8_t>) { return absl::CancelledError("stop"); };
  EXPECT_TRUE(absl::IsCancelled(write_gguf(path, spec)));
  EXPECT_TRUE(testing::read_bytes(path).empty());  // neither the file nor a half of it
}

TEST(GgufWriter, RefusesBadSpecs) {
  const float data[64] = {};
  auto tensor = [&](std::string name, std::vector<int64_t> ne, Format f) {
    return GgufTensor{std::move(name), std::move(ne), static_cast<uint32_t>(f), 0, 0,
                      reinterpret_cast<const uint8_t*>(data)};
  };
  struct Case {
    std::string what;
    GgufWriteSpec spec;
    std::string expected;
  };
  std::vector<Case> cases;
  auto with_md = [](std::vector<std::pair<std::string, GgufValue>> md) {
    GgufWriteSpec s;
    s.metadata = std::move(md);
    return s;
  };
  cases.push_back({"duplicate key", with_md({{"a", GgufValue::u8(1)}, {"a", GgufValue::u8(2)}}), "duplicate key"});
  cases.push_back({"empty key", with_md({{"", GgufValue::u8(1)}}), "metadata key is empty"});
  cases.push_back({"u8 out of range", with_md({{"a", GgufValue{GgufType::kU8, uint64_t{300}}}}),
                   "value 300 does not fit u8"});
  cases.push_back({"i8 out of range", with_md({{"a", GgufValue{GgufType::kI8, int64_t{-129}}}}),
                   "value -129 does not fit i8"});
  cases.push_back({"wrong alternative", with_md({{"a", GgufValue{GgufType::kString, uint64_t{1}}}}),
                   "does not match type string"});
  cases.push_back({"mixed array", with_md({{"a", GgufValue::array(GgufType::kU8, {GgufValue::u16(1)})}}),
                   "element of type u16 in an array of u8"});
  GgufValue deep = GgufValue::array(GgufType::kU8, {});
  for (int d = 0; d < kGgufMaxArrayDepth; ++d) deep = GgufValue::array(GgufType::kArray, {deep});
  cases.push_back({"too deep", with_md({{"a", deep}}), "arrays nested deeper than 8"});
  cases.push_back({"alignment disagrees", with_md({{"general.alignment", GgufValue::u32(64)}}),
                   "must be u32 32, the alignment written"});
  GgufWriteSpec s = with_md({});
  s.alignment = 48;
  cases.push_back({"alignment", s, "alignment 48 is not a power of two"});
  s = with_md({});
  s.tensors = {tensor("t", {16}, Format::kF32), tensor("t", {16}, Format::kF32)};
  cases.push_back({"duplicate tensor", s, "tensor 't': duplicate tensor name"});
  s.tensors = {tensor("t", {48}, Format::kQ4_0)};
  cases.push_back({"ragged block", s, "ne[0] = 48 is not a multiple of the q4_0 block size 32"});
  s.tensors = {tensor("t", {32}, static_cast<Format>(12))};
  cases.push_back({"k-quant", s, "type id 12 (q4_K) is not supported"});
  s.tensors = {tensor("t", {32, 0}, Format::kF32)};
  cases.push_back({"empty dim", s, "ne[1] = 0 is invalid"});
  s.tensors = {tensor("t", {1, 1, 1, 1, 1}, Format::kF32)};
  cases.push_back({"5 dims", s, "n_dims 5 is outside [1, 4]"});
  s.tensors = {tensor("t", {16}, Format::kF32)};
  s.tensors[0].bytes = 60;
  cases.push_back({"bytes mismatch", s, "bytes 60 but f32 of this shape takes 64"});
  s.tensors = {tensor("t", {16}, Format::kF32)};
  s.tensors[0].data = nullptr;
  cases.push_back({"no data", s, "no data and no fill function"});

  const std::string path = testing::temp_path("bad.gguf");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const absl::Status st = write_gguf(path, c.spec);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
    EXPECT_NE(st.message().find(c.expected), std::string::npos) << st;
    EXPECT_TRUE(testing::read_bytes(path).empty());
  }
}

}  // namespace
}  // namespace quantd::model
