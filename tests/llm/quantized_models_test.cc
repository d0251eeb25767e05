// llama.cpp's quantized stories260K files (Q8_0 / Q5_0 / Q4_0 with F16 ffn_down, mixed in one
// model) and quantd's own re-quantization at load: they load, generate coherent text, and the
// greedy tokens track the F32 model's.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "server/llm/llama.h"
#include "server/llm/sampler.h"
#include "server/llm/session.h"
#include "server/llm/tokenizer.h"
#include "tests/llm/known_answers.h"
#include "tests/llm/test_util.h"

namespace quantd::llm {
namespace {

constexpr int kTokens = 100;

std::vector<int32_t> greedy_from_bos(const Llama& llama, int n) {
  auto s = llama.new_session(n + 1);
  EXPECT_TRUE(s.ok());
  auto sampler = Sampler::create(SamplerConfig{.temperature = 0.0f}, static_cast<int32_t>(llama.config().n_vocab));
  std::vector<int32_t> out;
  EXPECT_TRUE((*s)->prefill(std::vector<int32_t>{1}, 1).ok());
  for (int i = 0; i < n; ++i) {
    out.push_back(sampler->sample((*s)->logits()));
    if (i + 1 < n) {
      EXPECT_TRUE((*s)->decode(out.back(), 1).ok());
    }
  }
  return out;
}

// Tokens equal to the F32 model's greedy answer before the first difference.
int agreement(const std::vector<int32_t>& got) {
  int n = 0;
  while (n < static_cast<int>(got.size()) && got[n] == testing::kGreedyFromBos[n]) ++n;
  return n;
}

// Coherent: ordinary English pieces. Every token is a normal piece or a newline byte, and the
// text has sentences (periods) and words of letters.
void expect_coherent(const Tokenizer& tok, const std::vector<int32_t>& ids, const std::string& label) {
  int words = 0, periods = 0;
  for (int32_t id : ids) {
    EXPECT_TRUE(tok.type(id) == TokenType::kNormal || id == 13) << label << ": token " << id;
  }
  const std::string text = tok.decode(ids);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.') ++periods;
    if (text[i] == ' ' && i + 1 < text.size() && std::isalpha(static_cast<unsigned char>(text[i + 1]))) ++words;
  }
  EXPECT_GE(words, 30) << label << ": " << text;
  EXPECT_GE(periods, 2) << label << ": " << text;
}

// Measured (AVX2 and scalar kernels alike, 100 greedy tokens): q8_0 file 100/100 equal to F32,
// q5_0 file 73, q4_0 file 27; re-quantized f16 100, bf16 100, q8_0 100, q5_1 45, q4_1 38.
// The bounds below leave room for kernel changes while still catching a broken format.
struct FileCase {
  const char* file;
  kernels::Format attn_q;   // the block format of the attention weights
  int min_agreement;        // greedy tokens that must equal the F32 model's
};

class LlamaCppQuantized : public ::testing::TestWithParam<FileCase> {};

TEST_P(LlamaCppQuantized, LoadsAndGenerates) {
  const FileCase& c = GetParam();
  auto llama = testing::load_llama(c.file);
  ASSERT_NE(llama, nullptr);
  // Mixed formats in one model: block-quantized attention, F16 ffn_down (172-wide rows).
  EXPECT_EQ(llama->layers()[0].wq.format, c.attn_q);
  EXPECT_EQ(llama->layers()[0].down.format, kernels::Format::kF16);
  EXPECT_LT(llama->weight_bytes_per_token(), 1056540u / 2);  // well under the F32 weights

  const std::vector<int32_t> got = greedy_from_bos(*llama, kTokens);
  const int same = agreement(got);
  auto tok = testing::load_tokenizer(llama->model());
  ASSERT_NE(tok, nullptr);
  std::printf("[ %s ] greedy tokens equal to F32: first %d of %d; text: %s\n", c.file, same, kTokens,
              tok->decode(std::vector<int32_t>(got.begin(), got.begin() + 40)).c_str());
  EXPECT_GE(same, c.min_agreement);
  expect_coherent(*tok, got, c.file);
}

INSTANTIATE_TEST_SUITE_P(Files, LlamaCppQuantized,
                         ::testing::Values(FileCase{"stories260K-llamacpp-q8_0-fallback.gguf", kernels::Format::kQ8_0, 50},
                                           FileCase{"stories260K-llamacpp-q5_0-fallback.gguf", kernels::Format::kQ5_0, 20},
                                           FileCase{"stories260K-llamacpp-q4_0-fallback.gguf", kernels::Format::kQ4_0, 10}),
                         [](const auto& info) {
                           const std::string f = info.param.file;
                           return f.substr(f.find("llamacpp-") + 9, 4);
                         });

// quantd re-quantizing the F32 file at load covers the formats llama.cpp's files lack
// (F16, BF16, Q4_1, Q5_1 weights), through the same forward pass.
struct TargetCase {
  kernels::Format target;
  int min_agreement;
};

class Requantized : public ::testing::TestWithParam<TargetCase> {};

TEST_P(Requantized, Generates) {
  const TargetCase& c = GetParam();
  model::LoadOptions options;
  options.target = c.target;
  auto llama = testing::load_llama("stories260K.gguf", options);
  ASSERT_NE(llama, nullptr);
  EXPECT_EQ(llama->layers()[2].gate.format, c.target);
  const std::vector<int32_t> got = greedy_from_bos(*llama, kTokens);
  const int same = agreement(got);
  std::printf("[ %s ] greedy tokens equal to F32: first %d of %d\n",
              std::string(kernels::find_format(c.target)->name).c_str(), same, kTokens);
  EXPECT_GE(same, c.min_agreement);
  auto tok = testing::load_tokenizer(llama->model());
  ASSERT_NE(tok, nullptr);
  expect_coherent(*tok, got, std::string(kernels::find_format(c.target)->name));
}

INSTANTIATE_TEST_SUITE_P(Formats, Requantized,
                         ::testing::Values(TargetCase{kernels::Format::kF16, 50}, TargetCase{kernels::Format::kBF16, 50},
                                           TargetCase{kernels::Format::kQ8_0, 50}, TargetCase{kernels::Format::kQ5_1, 10},
                                           TargetCase{kernels::Format::kQ4_1, 10}),
                         [](const auto& info) { return std::string(kernels::find_format(info.param.target)->name); });

// quantd's Q8_0 quantizer gives llama.cpp's bytes, so re-quantizing the F32 file to Q8_0 at load
// should generate exactly what llama.cpp's Q8_0 file does (ffn_down is F16 in both: 172-wide
// rows fall back).
TEST(Requantized, Q8_0MatchesLlamaCppFile) {
  model::LoadOptions options;
  options.target = kernels::Format::kQ8_0;
  auto ours = testing::load_llama("stories260K.gguf", options);
  auto theirs = testing::load_llama("stories260K-llamacpp-q8_0-fallback.gguf");
  ASSERT_NE(ours, nullptr);
  ASSERT_NE(theirs, nullptr);
  EXPECT_EQ(greedy_from_bos(*ours, kTokens), greedy_from_bos(*theirs, kTokens));
}

}  // namespace
}  // namespace quantd::llm
