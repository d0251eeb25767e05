// quantize_model() and write_model(): the same re-quantizer as Model::load (same bytes), NaN/Inf
// refused naming the tensor, per-tensor reports, and GGUF rewrites in the source's key order.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gtest/gtest.h"
#include "server/model/gguf.h"
#include "server/model/model.h"
#include "server/model/quantize_model.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

using kernels::Format;
using testing::model_path;

std::shared_ptr<const Model> load(const std::string& file, const LoadOptions& options = {}) {
  auto m = Model::load(file, file.front() == '/' ? file : model_path(file), options);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : nullptr;
}

QuantizeModelOptions to(Format target, int threads = 2) {
  QuantizeModelOptions o;
  o.target = target;
  o.threads = threads;
  return o;
}

TEST(QuantizeModel, SameBytesAsRequantizingAtLoad) {
  auto source = load("stories260K.gguf");
  LoadOptions at_load;
  at_load.target = Format::kQ4_0;
  auto loaded = load("stories260K.gguf", at_load);
  ASSERT_TRUE(source && loaded);
  auto result = quantize_model(source, "q4", to(Format::kQ4_0, 3));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->tensors.size(), loaded->tensors().size());
  for (const ModelTensor& t : loaded->tensors()) {
    SCOPED_TRACE(t.name);
    const ModelTensor* q = result->model->tensor(t.name);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->format, t.format);
    ASSERT_EQ(q->bytes, t.bytes);
    EXPECT_EQ(0, std::memcmp(q->data, t.data, t.bytes));
  }
  EXPECT_EQ(result->model->bytes_allocated(), loaded->bytes_allocated());
}

TEST(QuantizeModel, ReportsEveryTensorWithErrorsIndependentOfThreads) {
  auto source = load("stories260K.gguf");
  ASSERT_NE(source, nullptr);
  QuantizeModelOptions options = to(Format::kQ8_0, 1);
  options.keep = {"output.weight"};
  auto one = quantize_model(source, "a", options);
  options.threads = 4;
  auto four = quantize_model(source, "b", options);
  ASSERT_TRUE(one.ok() && four.ok());
  ASSERT_EQ(one->tensors.size(), 48u);
  for (size_t i = 0; i < one->tensors.size(); ++i) {
    const TensorReport& r = one->tensors[i];
    SCOPED_TRACE(r.name);
    EXPECT_EQ(r.name, source->tensors()[i].name);
    EXPECT_EQ(r.before, Format::kF32);
    EXPECT_EQ(r.bytes_before, source->tensors()[i].bytes);
    if (r.name == "output.weight") {
      EXPECT_EQ(r.note, "kept: matches --keep");
      EXPECT_FALSE(r.error);
    } else if (r.name.find("norm") != std::string::npos) {
      EXPECT_EQ(r.note, "kept: 1-D");
      EXPECT_EQ(r.after, Format::kF32);
    } else if (r.name.find("ffn_down") != std::string::npos) {
      EXPECT_EQ(r.after, Format::kF16);
      EXPECT_EQ(r.note, "fallback: row of 172 values is not a multiple of 32");
      EXPECT_EQ(r.bytes_after, r.bytes_before / 2);
    } else {
      EXPECT_EQ(r.after, Format::kQ8_0);
      EXPECT_EQ(r.bytes_after, r.bytes_before / 4 / 32 * 34);
      ASSERT_TRUE(r.error);
      EXPECT_GT(r.error->snr_db, 30);
    }
    // Chunked accumulation merged in order: the same doubles for any thread count.
    ASSERT_EQ(r.error.has_value(), four->tensors[i].error.has_value());
    if (r.error) {
      EXPECT_EQ(r.error->mse, four->tensors[i].error->mse);
      EXPECT_EQ(r.error->cosine, four->tensors[i].error->cosine);
      EXPECT_EQ(r.error->count, source->tensors()[i].bytes / 4);
    }
  }
}

TEST(QuantizeModel, NaNIsInvalidArgumentNamingTheTensor) {
  const std::string path =
      testing::with_value(model_path("stories260K.gguf"), "blk.2.ffn_gate.weight", 7 * 64 + 3, NAN);
  auto source = load(path);  // as F32 it loads
  ASSERT_NE(source, nullptr);
  for (int threads : {1, 4}) {
    const absl::Status s = quantize_model(source, "q", to(Format::kQ8_0, threads)).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_NE(s.message().find("tensor 'blk.2.ffn_gate.weight' row 7 column 3: nan cannot be quantized to q8_0"),
              std::string::npos)
        << s;
  }
  // A float target carries it through.
  EXPECT_TRUE(quantize_model(source, "f16", to(Format::kF16)).ok());
  std::remove(path.c_str());
}

TEST(QuantizeModel, BadTargetsAreInvalidArgument) {
  auto source = load("stories260K.gguf");
  ASSERT_NE(source, nullptr);
  const absl::Status activation = quantize_model(source, "x", to(Format::kQ8_1)).status();
  EXPECT_TRUE(absl::IsInvalidArgument(activation)) << activation;
  EXPECT_NE(activation.message().find("q8_1 is an activation format"), std::string::npos) << activation;
  QuantizeModelOptions options = to(Format::kQ4_0);
  options.fallback = Format::kQ8_0;
  const absl::Status fallback = quantize_model(source, "x", options).status();
  EXPECT_TRUE(absl::IsInvalidArgument(fallback)) << fallback;
  EXPECT_NE(fallback.message().find("fallback type q8_0 must be f32, f16 or bf16"), std::string::npos) << fallback;
}

// The keys a GGUF file holds, in file order.
std::vector<std::string> keys_of(const std::string& path) {
  auto f = GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? (*f)->metadata_order() : std::vector<std::string>{};
}

TEST(WriteModel, KeepsTheSourceKeyOrder) {
  // A llama.cpp file that already has general.file_type and general.quantization_version:
  // they are updated in place, every other key keeps its value and position.
  const std::string name = "stories260K-llamacpp-q8_0-fallback.gguf";
  auto source = load(name);
  ASSERT_NE(source, nullptr);
  auto result = quantize_model(source, "q4", to(Format::kQ4_0));
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string path = testing::temp_path("q4.gguf");
  ASSERT_TRUE(write_model(*result->model, Format::kQ4_0, path).ok());
  const std::vector<std::string> source_keys = source->gguf().metadata_order();
  ASSERT_NE(std::find(source_keys.begin(), source_keys.end(), "general.file_type"), source_keys.end());
  EXPECT_EQ(keys_of(path), source_keys);
  auto written = GgufFile::open(path);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*(*written)->get_uint("general.file_type"), 2u);  // llama_ftype MOSTLY_Q4_0
  for (const std::string& key : source_keys) {
    if (key == "general.file_type") continue;
    EXPECT_TRUE(testing::same_value((*written)->metadata().at(key), source->gguf().metadata().at(key))) << key;
  }
  std::remove(path.c_str());

  // A file without them (llama.cpp's llama2.c converter writes neither): appended at the end.
  auto plain = load("stories260K.gguf");
  ASSERT_NE(plain, nullptr);
  ASSERT_TRUE(write_model(*plain, Format::kF32, path).ok());
  std::vector<std::string> expected = plain->gguf().metadata_order();
  expected.push_back("general.file_type");
  expected.push_back("general.quantization_version");
  EXPECT_EQ(keys_of(path), expected);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace quantd::model
