// The reader on the real test models: the facts models/README.md states, tensor types of
// llama.cpp's quantized files, typed lookups, and messages that name field, value and offset.
#include <sys/stat.h>

#include <map>

#include "gtest/gtest.h"
#include "quantd/kernels/formats.h"
#include "server/model/gguf.h"
#include "tests/model/gguf_layout.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

using kernels::Format;
using testing::model_path;

constexpr uint32_t id(Format f) { return static_cast<uint32_t>(f); }

TEST(GgufReader, Stories260KHeaderAndLayout) {
  auto file = GgufFile::open(model_path("stories260K.gguf"));
  ASSERT_TRUE(file.ok()) << file.status();
  const GgufFile& f = **file;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset(), 14176u);
  EXPECT_EQ(f.file_size(), 1185376u);
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(f.metadata().size(), 19u);
  ASSERT_EQ(f.metadata_order().size(), 19u);
  EXPECT_EQ(f.metadata_order().front(), "tokenizer.ggml.tokens");
  EXPECT_EQ(f.metadata_order().back(), "llama.attention.layer_norm_rms_epsilon");
  for (const GgufTensor& t : f.tensors()) {
    EXPECT_EQ(t.ggml_type, id(Format::kF32)) << t.name;
    EXPECT_EQ(t.bytes, static_cast<uint64_t>(t.elements()) * 4) << t.name;
    EXPECT_EQ(t.data, f.find_tensor(t.name)->data);
    EXPECT_EQ(t.offset % 32, 0u);
  }
  const std::map<std::string, std::vector<int64_t>> shapes = {
      {"token_embd.weight", {64, 512}},     {"output.weight", {64, 512}},
      {"output_norm.weight", {64}},         {"blk.0.attn_q.weight", {64, 64}},
      {"blk.3.attn_k.weight", {64, 32}},    {"blk.4.attn_v.weight", {64, 32}},
      {"blk.2.attn_output.weight", {64, 64}}, {"blk.1.ffn_gate.weight", {64, 172}},
      {"blk.1.ffn_up.weight", {64, 172}},   {"blk.4.ffn_down.weight", {172, 64}},
      {"blk.0.attn_norm.weight", {64}},     {"blk.0.ffn_norm.weight", {64}}};
  for (const auto& [name, ne] : shapes) {
    const GgufTensor* t = f.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->ne, ne) << name;
  }
  EXPECT_EQ(f.find_tensor("blk.5.attn_q.weight"), nullptr);
  // token_embd is the first tensor: its data starts the data section.
  const GgufTensor* embd = f.find_tensor("token_embd.weight");
  EXPECT_EQ(embd->offset, 0u);
  const std::vector<uint8_t> raw = testing::read_bytes(model_path("stories260K.gguf"));
  EXPECT_EQ(0, std::memcmp(embd->data, raw.data() + 14176, embd->bytes));
  // The classifier is tied: the file stores the embedding twice, bit-identical (README).
  const GgufTensor* out = f.find_tensor("output.weight");
  EXPECT_EQ(0, std::memcmp(embd->data, out->data, embd->bytes));
}

TEST(GgufReader, Stories260KMetadata) {
  auto file = GgufFile::open(model_path("stories260K.gguf"));
  ASSERT_TRUE(file.ok()) << file.status();
  const GgufFile& f = **file;
  EXPECT_EQ(*f.get_string("general.architecture"), "llama");
  EXPECT_EQ(*f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(*f.get_uint("llama.embedding_length"), 64u);
  EXPECT_EQ(*f.get_uint("llama.block_count"), 5u);
  EXPECT_EQ(*f.get_uint("llama.attention.head_count"), 8u);
  EXPECT_EQ(*f.get_uint("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(*f.get_uint("llama.feed_forward_length"), 172u);
  EXPECT_EQ(*f.get_uint("llama.context_length"), 2048u);
  EXPECT_EQ(*f.get_uint("llama.rope.dimension_count"), 8u);
  EXPECT_EQ(*f.get_uint("tokenizer.ggml.seperator_token_id"), 4294967295u);
  EXPECT_EQ(*f.get_float("llama.attention.layer_norm_rms_epsilon"), 9.999999747378752e-06);
  EXPECT_FALSE(f.metadata().count("general.file_type"));
  EXPECT_FALSE(f.metadata().count("llama.rope.freq_base"));

  auto tokens = f.get_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ((*tokens)->element_type, GgufType::kString);
  ASSERT_EQ((*tokens)->values.size(), 512u);
  auto token = [&](int i) { return std::get<std::string>((*tokens)->values[i].value); };
  EXPECT_EQ(token(0), "<unk>");
  EXPECT_EQ(token(1), "<s>");
  EXPECT_EQ(token(2), "</s>");
  EXPECT_EQ(token(3), "<0x00>");
  EXPECT_EQ(token(258), "<0xFF>");
  auto types = f.get_array("tokenizer.ggml.token_type");
  ASSERT_TRUE(types.ok());
  EXPECT_EQ((*types)->element_type, GgufType::kI32);
  auto type = [&](int i) { return std::get<int64_t>((*types)->values[i].value); };
  EXPECT_EQ(type(0), 2);
  EXPECT_EQ(type(1), 3);
  EXPECT_EQ(type(2), 3);
  EXPECT_EQ(type(3), 6);
  EXPECT_EQ(type(258), 6);
  EXPECT_EQ(type(259), 1);
  EXPECT_EQ((*f.get_array("tokenizer.ggml.scores"))->element_type, GgufType::kF32);
}

TEST(GgufReader, TypedLookupErrors) {
  auto file = GgufFile::open(model_path("stories260K.gguf"));
  ASSERT_TRUE(file.ok()) << file.status();
  const GgufFile& f = **file;
  EXPECT_TRUE(absl::IsNotFound(f.get_uint("llama.vocab_size").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(f.get_uint("general.architecture").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(f.get_string("llama.block_count").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(f.get_float("llama.block_count").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(f.get_array("general.name").status()));
  const absl::Status s = f.get_string("llama.block_count").status();
  EXPECT_NE(s.message().find("'llama.block_count' has type u32, expected string"), std::string::npos) << s;
}

struct QuantizedCase {
  std::string file;
  uint64_t file_type;
  std::map<uint32_t, int> counts;
  std::map<std::string, uint32_t> types;  // selected tensors
};

TEST(GgufReader, LlamaCppQuantizedFiles) {
  const std::vector<QuantizedCase> cases = {
      {"stories260K-llamacpp-q8_0-fallback.gguf", 18,
       {{id(Format::kQ8_0), 32}, {id(Format::kF16), 5}, {id(Format::kF32), 11}},
       {{"token_embd.weight", id(Format::kQ8_0)}, {"output.weight", id(Format::kQ8_0)},
        {"blk.2.ffn_down.weight", id(Format::kF16)}, {"blk.2.ffn_norm.weight", id(Format::kF32)}}},
      {"stories260K-llamacpp-q5_0-fallback.gguf", 15,
       {{id(Format::kQ5_0), 29}, {id(Format::kQ8_0), 3}, {id(Format::kF16), 5}, {id(Format::kF32), 11}},
       {{"token_embd.weight", id(Format::kQ5_0)}, {"output.weight", id(Format::kQ8_0)},
        {"blk.0.attn_v.weight", id(Format::kQ5_0)}, {"blk.1.attn_v.weight", id(Format::kQ5_0)},
        {"blk.2.attn_v.weight", id(Format::kQ8_0)}, {"blk.3.attn_v.weight", id(Format::kQ5_0)},
        {"blk.4.attn_v.weight", id(Format::kQ8_0)}, {"blk.0.ffn_down.weight", id(Format::kF16)}}},
      {"stories260K-llamacpp-q4_0-fallback.gguf", 37,
       {{id(Format::kQ4_0), 30}, {id(Format::kQ5_0), 1}, {id(Format::kQ8_0), 1}, {id(Format::kF16), 5},
        {id(Format::kF32), 11}},
       {{"token_embd.weight", id(Format::kQ5_0)}, {"output.weight", id(Format::kQ8_0)},
        {"blk.4.attn_v.weight", id(Format::kQ4_0)}, {"blk.4.ffn_down.weight", id(Format::kF16)}}},
  };
  for (const QuantizedCase& c : cases) {
    SCOPED_TRACE(c.file);
    auto file = GgufFile::open(model_path(c.file));
    ASSERT_TRUE(file.ok()) << file.status();
    const GgufFile& f = **file;
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.tensors().size(), 48u);
    EXPECT_EQ(f.metadata().size(), 21u);
    EXPECT_EQ(*f.get_uint("general.file_type"), c.file_type);
    EXPECT_EQ(*f.get_uint("general.quantization_version"), 2u);
    std::map<uint32_t, int> counts;
    uint64_t end = 0;
    for (const GgufTensor& t : f.tensors()) {
      ++counts[t.ggml_type];
      const kernels::FormatInfo* info = kernels::find_format(t.ggml_type);
      ASSERT_NE(info, nullptr);
      EXPECT_EQ(t.bytes, kernels::row_bytes(*info, t.ne[0]) * (t.elements() / t.ne[0])) << t.name;
      end = std::max(end, f.data_offset() + t.offset + t.bytes);
    }
    EXPECT_EQ(counts, c.counts);
    for (const auto& [name, type] : c.types) EXPECT_EQ(f.find_tensor(name)->ggml_type, type) << name;
    EXPECT_LE(end, f.file_size());
    EXPECT_GT(end + 32, f.file_size());  // only padding after the last tensor
  }
}

TEST(GgufReader, Version2ReadsLikeVersion3) {
  std::vector<uint8_t> bytes = testing::read_bytes(model_path("stories260K.gguf"));
  bytes[4] = 2;
  auto f = GgufFile::parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->version(), 2u);
  EXPECT_EQ((*f)->tensors().size(), 48u);
  EXPECT_EQ((*f)->data_offset(), 14176u);
}

TEST(GgufReader, ErrorsNameFieldValueAndOffset) {
  const std::vector<uint8_t> original = testing::read_bytes(model_path("stories260K.gguf"));
  const testing::GgufLayout layout(original);
  auto field = [&](const std::string& label) {
    for (const testing::Field& f : layout.fields()) {
      if (f.label == label) return f;
    }
    ADD_FAILURE() << "no field " << label;
    return layout.fields().front();
  };
  struct Case {
    std::string label;
    uint64_t value;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"magic", 0x46554746, "magic at offset 0: 0x46554746 is not \"GGUF\""},
      {"version", 1, "version at offset 4: 1 is not supported (version 1 has 32-bit counts"},
      {"version", 4, "version at offset 4: 4 is not supported (quantd reads versions 2 and 3)"},
      {"version", 0x03000000, "version at offset 4: 50331648 is not supported (a big-endian file)"},
      {"blk.0.attn_q.weight type", 12, "tensor 'blk.0.attn_q.weight' at offset "},
      {"blk.0.attn_q.weight type", 12, ": type id 12 (q4_K) is not supported"},
      {"blk.0.attn_q.weight n_dims", 5, ": n_dims 5 is outside [1, 4]"},
      {"blk.0.attn_q.weight ne[0]", 0, ": ne[0] = 0 is outside [1, 2^63)"},
      {"blk.0.attn_q.weight offset", 262401, ": data offset 262401 is not a multiple of the alignment 32"},
      {"blk.0.attn_q.weight offset", 1u << 30, "ends past the end of the file (1185376 bytes)"},
      {"blk.0.attn_q.weight offset", 0, "overlaps tensor 'token_embd.weight'"},
      {"general.name type", 13, "metadata key 'general.name' at offset "},
      {"general.name type", 13, "value type 13 is not a GGUF type (0..12)"},
      {"tokenizer.ggml.tokens array count", uint64_t{1} << 40, "array of 1099511627776 string values cannot fit"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    std::vector<uint8_t> bytes = original;
    const testing::Field f = field(c.label);
    std::memcpy(bytes.data() + f.offset, &c.value, f.size);
    auto parsed = GgufFile::parse(bytes);
    ASSERT_FALSE(parsed.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status()));
    EXPECT_NE(parsed.status().message().find(c.expected), std::string::npos) << parsed.status();
  }
  // The offset in the message is the field's own.
  std::vector<uint8_t> bytes = original;
  const testing::Field f = field("blk.0.attn_q.weight type");
  const uint32_t q4_k = 12;
  std::memcpy(bytes.data() + f.offset, &q4_k, 4);
  EXPECT_EQ(GgufFile::parse(bytes).status().message(),
            "tensor 'blk.0.attn_q.weight' at offset " + std::to_string(f.offset) +
                ": type id 12 (q4_K) is not supported");
}

TEST(GgufReader, OpenErrors) {
  EXPECT_TRUE(absl::IsNotFound(GgufFile::open("/nonexistent/model.gguf").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(GgufFile::open(testing::models_dir()).status()));
  const std::string empty = testing::temp_path("empty.gguf");
  testing::write_bytes(empty, {});
  EXPECT_TRUE(absl::IsInvalidArgument(GgufFile::open(empty).status()));
  const std::string bad = testing::temp_path("bad.gguf");
  testing::write_bytes(bad, {'G', 'G', 'U', 'F', 3, 0, 0, 0});
  const absl::Status s = GgufFile::open(bad).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message().find(bad + ": tensor count at offset 8"), 0u) << s;
  std::remove(empty.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace quantd::model
