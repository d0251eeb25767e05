// Model::load: hyper-parameters, zero-copy tensors, re-quantization at load with the F16
// fallback, exact byte accounting, validation errors, derive().
#include <cmath>

#include "gtest/gtest.h"
#include "quantd/kernels/fp16.h"
#include "quantd/kernels/kernels.h"
#include "server/model/gguf.h"
#include "server/model/model.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

using kernels::Format;
using testing::model_path;

bool inside(const uint8_t* p, uint64_t n, const GgufFile& f, const uint8_t* base) {
  return p >= base && p + n <= base + f.file_size();
}

TEST(Model, LoadsStories260KMapped) {
  auto loaded = Model::load("stories", model_path("stories260K.gguf"), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Model& m = **loaded;
  EXPECT_EQ(m.name(), "stories");
  EXPECT_EQ(m.path(), model_path("stories260K.gguf"));
  const LlamaConfig& p = m.params();
  EXPECT_EQ(p.architecture, "llama");
  EXPECT_EQ(p.n_vocab, 512);
  EXPECT_EQ(p.n_ctx_train, 2048);
  EXPECT_EQ(p.n_embd, 64);
  EXPECT_EQ(p.n_layer, 5);
  EXPECT_EQ(p.n_head, 8);
  EXPECT_EQ(p.n_head_kv, 4);
  EXPECT_EQ(p.n_ff, 172);
  EXPECT_EQ(p.n_rot, 8);
  EXPECT_EQ(p.rope_freq_base, 10000.0f);
  EXPECT_EQ(p.rms_eps, 1e-5f);
  ASSERT_EQ(m.tensors().size(), 48u);
  uint64_t total = 0;
  for (size_t i = 0; i < m.tensors().size(); ++i) {
    const ModelTensor& t = m.tensors()[i];
    const GgufTensor& g = m.gguf().tensors()[i];
    EXPECT_TRUE(t.mapped);
    EXPECT_EQ(t.data, g.data);  // no copy
    EXPECT_EQ(t.format, Format::kF32);
    total += t.bytes;
  }
  EXPECT_EQ(total, 1185376u - 14176u);  // the whole data section: every size is a multiple of 32
  EXPECT_EQ(m.bytes_mapped(), total);
  EXPECT_EQ(m.bytes_allocated(), 0u);
  EXPECT_EQ(m.tensor("blk.4.ffn_down.weight")->rows(), 64);
  EXPECT_EQ(m.tensor("output_norm.weight")->rows(), 1);
  EXPECT_EQ(m.tensor("nope"), nullptr);
}

TEST(Model, RequantizesToQ8_0WithF16Fallback) {
  LoadOptions options;
  options.target = Format::kQ8_0;
  options.threads = 3;
  auto loaded = Model::load("q8", model_path("stories260K.gguf"), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Model& m = **loaded;
  const GgufFile& g = m.gguf();
  const uint8_t* base = g.tensors()[0].data - g.data_offset() - g.tensors()[0].offset;
  const kernels::KernelTable& k = kernels::kernels();
  uint64_t allocated = 0, mapped = 0;
  int q8 = 0, f16 = 0, f32 = 0;
  for (const ModelTensor& t : m.tensors()) {
    SCOPED_TRACE(t.name);
    const GgufTensor* src = g.find_tensor(t.name);
    const auto* x = reinterpret_cast<const float*>(src->data);
    const int64_t n = t.ne[0];
    if (t.ne.size() == 1) {
      ++f32;
      EXPECT_EQ(t.format, Format::kF32);
      EXPECT_TRUE(t.mapped);
      EXPECT_EQ(t.data, src->data);
      EXPECT_TRUE(inside(t.data, t.bytes, g, base));
      mapped += t.bytes;
      continue;
    }
    EXPECT_FALSE(t.mapped);
    EXPECT_FALSE(inside(t.data, t.bytes, g, base));
    allocated += t.bytes;
    if (n % 32 != 0) {
      // ffn_down: 172-wide rows cannot be Q8_0.
      ++f16;
      EXPECT_EQ(t.format, Format::kF16);
      EXPECT_EQ(t.bytes, static_cast<uint64_t>(src->elements()) * 2);
      const auto* h = reinterpret_cast<const kernels::fp16_t*>(t.data);
      for (int64_t i = 0; i < src->elements(); ++i) ASSERT_EQ(h[i], kernels::float_to_fp16(x[i])) << i;
      continue;
    }
    ++q8;
    EXPECT_EQ(t.format, Format::kQ8_0);
    ASSERT_EQ(t.bytes, static_cast<uint64_t>(src->elements() / 32 * 34));
    // The same bytes the kernel table gives row by row, whatever the thread count.
    std::vector<uint8_t> expect(t.bytes);
    for (int64_t r = 0; r < t.rows(); ++r) k[Format::kQ8_0].quantize_row(x + r * n, expect.data() + r * n / 32 * 34, n);
    EXPECT_EQ(0, std::memcmp(expect.data(), t.data, t.bytes));
  }
  // The converted tensors' pages were released from the mapping; reading them faults the
  // file's bytes back in, unchanged.
  const std::vector<uint8_t> raw = testing::read_bytes(model_path("stories260K.gguf"));
  for (const GgufTensor& t : g.tensors()) {
    EXPECT_EQ(0, std::memcmp(t.data, raw.data() + g.data_offset() + t.offset, t.bytes)) << t.name;
  }
  EXPECT_EQ(q8, 32);
  EXPECT_EQ(f16, 5);
  EXPECT_EQ(f32, 11);
  EXPECT_EQ(m.bytes_allocated(), allocated);
  EXPECT_EQ(m.bytes_mapped(), mapped);
  EXPECT_EQ(mapped, 11u * 64 * 4);
  // 32 Q8_0 matrices (2 x 64x512, 5 x (64x64 x2 + 64x32 x2 + 64x172 x2)) and 5 F16 ffn_down.
  const uint64_t q8_elems = 2 * 64 * 512 + 5 * (2 * 64 * 64 + 2 * 64 * 32 + 2 * 64 * 172);
  EXPECT_EQ(allocated, q8_elems / 32 * 34 + 5 * 172 * 64 * 2);
}

TEST(Model, ThreadCountDoesNotChangeBytes) {
  LoadOptions one{Format::kQ4_0, 1}, many{Format::kQ4_0, 4}, all{Format::kQ4_0, 0};
  auto a = Model::load("a", model_path("stories260K.gguf"), one);
  auto b = Model::load("b", model_path("stories260K.gguf"), many);
  auto c = Model::load("c", model_path("stories260K.gguf"), all);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (size_t i = 0; i < (*a)->tensors().size(); ++i) {
    const ModelTensor& ta = (*a)->tensors()[i];
    EXPECT_EQ(0, std::memcmp(ta.data, (*b)->tensors()[i].data, ta.bytes)) << ta.name;
    EXPECT_EQ(0, std::memcmp(ta.data, (*c)->tensors()[i].data, ta.bytes)) << ta.name;
  }
}

TEST(Model, AlreadyQuantizedTensorsStayMapped) {
  LoadOptions options;
  options.target = Format::kQ4_0;
  auto loaded = Model::load("q8file", model_path("stories260K-llamacpp-q8_0-fallback.gguf"), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Model& m = **loaded;
  for (size_t i = 0; i < m.tensors().size(); ++i) {
    EXPECT_TRUE(m.tensors()[i].mapped) << m.tensors()[i].name;
    EXPECT_EQ(m.tensors()[i].data, m.gguf().tensors()[i].data);
    EXPECT_EQ(static_cast<uint32_t>(m.tensors()[i].format), m.gguf().tensors()[i].ggml_type);
  }
  EXPECT_EQ(m.bytes_allocated(), 0u);
  EXPECT_EQ(m.tensor("blk.0.ffn_down.weight")->format, Format::kF16);  // its fallback is itself
  EXPECT_EQ(m.tensor("blk.0.attn_q.weight")->format, Format::kQ8_0);    // not re-quantized
}

TEST(Model, LoadsEveryQuantizedFile) {
  for (const char* name : {"stories260K-llamacpp-q8_0-fallback.gguf", "stories260K-llamacpp-q5_0-fallback.gguf",
                           "stories260K-llamacpp-q4_0-fallback.gguf"}) {
    auto loaded = Model::load(name, model_path(name), {});
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->bytes_allocated(), 0u);
    EXPECT_EQ((*loaded)->params().n_vocab, 512);
  }
}

TEST(Model, FloatTargets) {
  LoadOptions options;
  options.target = Format::kF16;
  auto loaded = Model::load("f16", model_path("stories260K.gguf"), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const ModelTensor& t : (*loaded)->tensors()) {
    EXPECT_EQ(t.format, t.ne.size() == 1 ? Format::kF32 : Format::kF16) << t.name;
  }
  // F16 -> F32 widens.
  options.target = Format::kF32;
  loaded = Model::load("f32", model_path("stories260K-llamacpp-q8_0-fallback.gguf"), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->tensor("blk.1.ffn_down.weight")->format, Format::kF32);
  EXPECT_EQ((*loaded)->tensor("blk.1.ffn_up.weight")->format, Format::kQ8_0);
  EXPECT_EQ((*loaded)->bytes_allocated(), 5u * 172 * 64 * 4);

  options.target = Format::kQ8_1;
  const absl::Status s = Model::load("q81", model_path("stories260K.gguf"), options).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("q8_1 is an activation format"), std::string::npos) << s;
}

std::string edited(const std::function<void(GgufWriteSpec&)>& edit) {
  return testing::edited_copy(model_path("stories260K.gguf"), edit);
}

void set_key(GgufWriteSpec& spec, const std::string& key, GgufValue v) {
  for (auto& [k, value] : spec.metadata) {
    if (k == key) {
      value = std::move(v);
      return;
    }
  }
  spec.metadata.emplace_back(key, std::move(v));
}

void drop_key(GgufWriteSpec& spec, const std::string& key) {
  std::erase_if(spec.metadata, [&](const auto& kv) { return kv.first == key; });
}

TEST(Model, ValidationErrors) {
  struct Case {
    std::string what;
    std::function<void(GgufWriteSpec&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"architecture", [](GgufWriteSpec& s) { set_key(s, "general.architecture", GgufValue::string("gpt2")); },
       "unsupported architecture 'gpt2'"},
      {"no architecture", [](GgufWriteSpec& s) { drop_key(s, "general.architecture"); },
       "required metadata key 'general.architecture' is missing"},
      {"no block count", [](GgufWriteSpec& s) { drop_key(s, "llama.block_count"); },
       "required metadata key 'llama.block_count' is missing"},
      {"no eps", [](GgufWriteSpec& s) { drop_key(s, "llama.attention.layer_norm_rms_epsilon"); },
       "'llama.attention.layer_norm_rms_epsilon' is missing"},
      {"zero heads", [](GgufWriteSpec& s) { set_key(s, "llama.attention.head_count", GgufValue::u32(0)); },
       "'llama.attention.head_count' = 0 is outside [1, 4096]"},
      {"heads vs embd", [](GgufWriteSpec& s) { set_key(s, "llama.attention.head_count", GgufValue::u32(6)); },
       "llama.embedding_length 64 is not a multiple of llama.attention.head_count 6"},
      {"kv heads", [](GgufWriteSpec& s) { set_key(s, "llama.attention.head_count_kv", GgufValue::u32(3)); },
       "is not a multiple of llama.attention.head_count_kv 3"},
      {"rope dims", [](GgufWriteSpec& s) { set_key(s, "llama.rope.dimension_count", GgufValue::u32(16)); },
       "'llama.rope.dimension_count' = 16 is outside [2, 8]"},
      {"eps type", [](GgufWriteSpec& s) { set_key(s, "llama.attention.layer_norm_rms_epsilon", GgufValue::u32(1)); },
       "has type u32, expected f32 or f64"},
      {"eps nan", [](GgufWriteSpec& s) { set_key(s, "llama.attention.layer_norm_rms_epsilon", GgufValue::f32(NAN)); },
       "is outside (0, 1]"},
      {"negative ctx", [](GgufWriteSpec& s) { set_key(s, "llama.context_length", GgufValue::i32(-1)); },
       "'llama.context_length' = -1 is negative"},
      {"ffn", [](GgufWriteSpec& s) { set_key(s, "llama.feed_forward_length", GgufValue::u32(160)); },
       "tensor 'blk.0.ffn_gate.weight' has shape [64, 172], expected [64, 160]"},
      {"more layers", [](GgufWriteSpec& s) { set_key(s, "llama.block_count", GgufValue::u32(6)); },
       "tensor 'blk.5.attn_q.weight' is missing"},
      {"tokens", [](GgufWriteSpec& s) {
         set_key(s, "tokenizer.ggml.tokens", GgufValue::array(GgufType::kString, {GgufValue::string("a")}));
       }, "tensor 'token_embd.weight' has shape [64, 512], expected [64, 1]"},
      {"norm type", [](GgufWriteSpec& s) {
         for (GgufTensor& t : s.tensors) {
           if (t.name == "output_norm.weight") {
             t.ggml_type = static_cast<uint32_t>(Format::kF16);
             t.bytes = 0;
           }
         }
       }, "tensor 'output_norm.weight' has type f16, expected f32 for a norm"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string path = edited(c.edit);
    const absl::Status s = Model::load("m", path, {}).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << s;
    EXPECT_EQ(s.message().find(path + ": "), 0u) << s;
    std::remove(path.c_str());
  }
  EXPECT_TRUE(absl::IsNotFound(Model::load("m", "/nonexistent.gguf", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Model::load("", model_path("stories260K.gguf"), {}).status()));
}

TEST(Model, NonFiniteWeightsCannotBeBlockQuantized) {
  const std::string path =
      testing::with_value(model_path("stories260K.gguf"), "blk.1.attn_q.weight", 5 * 64 + 17, INFINITY);
  EXPECT_TRUE(Model::load("m", path, {}).ok());  // as F32 it loads
  LoadOptions options;
  options.target = Format::kQ8_0;
  const absl::Status s = Model::load("m", path, options).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("tensor 'blk.1.attn_q.weight' row 5 column 17: inf cannot be quantized to q8_0"),
            std::string::npos)
      << s;
  options.target = Format::kF16;  // float targets carry it through
  EXPECT_TRUE(Model::load("m", path, options).ok());
  std::remove(path.c_str());
}

TEST(Model, DeriveAccountsAndKeepsSourceAlive) {
  auto loaded = Model::load("base", model_path("stories260K.gguf"), {});
  ASSERT_TRUE(loaded.ok());
  std::shared_ptr<const Model> base = *loaded;
  std::vector<ModelTensor> tensors = base->tensors();
  std::vector<std::unique_ptr<uint8_t[]>> owned;
  // Replace one tensor by an owned F16 copy.
  ModelTensor& q = tensors[3];
  const uint64_t n = q.bytes / 4;
  owned.emplace_back(new uint8_t[n * 2]);
  kernels::kernels()[Format::kF16].quantize_row(reinterpret_cast<const float*>(q.data), owned.back().get(), n);
  q.data = owned.back().get();
  q.bytes = n * 2;
  q.format = Format::kF16;
  q.mapped = false;
  const uint8_t* mapped_ptr = tensors[0].data;
  std::shared_ptr<const Model> derived = Model::derive("derived", base, tensors, std::move(owned));
  EXPECT_EQ(derived->name(), "derived");
  EXPECT_EQ(derived->params().n_layer, 5);
  EXPECT_EQ(derived->bytes_allocated(), n * 2);
  EXPECT_EQ(derived->bytes_mapped(), base->bytes_mapped() - n * 4);
  EXPECT_EQ(derived->tensor(q.name)->format, Format::kF16);
  base.reset();
  loaded = absl::CancelledError("dropped");
  // The source (and its mapping) live on through the derived model.
  EXPECT_EQ(derived->tensor("token_embd.weight")->data, mapped_ptr);
  volatile uint8_t sink = mapped_ptr[derived->tensor("token_embd.weight")->bytes - 1];
  (void)sink;
}

}  // namespace
}  // namespace quantd::model
