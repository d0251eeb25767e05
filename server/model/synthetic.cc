// The synthetic model generator: tensors are produced one at a time through the writer's
// fill callback, so a file larger than memory can be written with one tensor in memory.
#include "server/model/synthetic.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"
#include "server/model/gguf.h"
#include "server/model/llama_arch.h"
#include "server/model/llama_params.h"
#include "server/model/requantize.h"
#include "server/common/status.h"

namespace quantd::model {
namespace {

constexpr float kWeightScale = 0.02f;
constexpr int64_t kSpecialTokens = 3, kByteTokens = 256;
const char* const kAlphabet[] = {"\xe2\x96\x81", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
                                 "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"};
constexpr int64_t kAlphabetSize = std::size(kAlphabet);

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// One row of N(0, scale^2) values by Box-Muller over a counter-based stream.
void normal_row(uint64_t key, float scale, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 2) {
    const uint64_t a = splitmix64(key ^ splitmix64(static_cast<uint64_t>(i)));
    const uint64_t b = splitmix64(a);
    const double u1 = (static_cast<double>(a >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(b >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1)) * scale;
    out[i] = static_cast<float>(r * std::cos(6.283185307179586 * u2));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(6.283185307179586 * u2));
  }
}

absl::Status check(bool ok, const std::string& what) {
  return ok ? absl::OkStatus() : absl::InvalidArgumentError(what);
}

}  // namespace

std::string synthetic_token(int64_t id) {
  if (id == 0) return "<unk>";
  if (id == 1) return "<s>";
  if (id == 2) return "</s>";
  if (id < kSpecialTokens + kByteTokens) {
    static const char kHex[] = "0123456789ABCDEF";
    const int64_t b = id - kSpecialTokens;
    return absl::StrCat("<0x", std::string(1, kHex[b >> 4]), std::string(1, kHex[b & 15]), ">");
  }
  // Pieces by length: all of length 1, then all of length 2, ... (base-27 digits).
  int64_t k = id - kSpecialTokens - kByteTokens;
  int64_t len = 1, count = kAlphabetSize;
  while (k >= count) {
    k -= count;
    ++len;
    count *= kAlphabetSize;
  }
  std::string piece;
  std::vector<int64_t> digits(len);
  for (int64_t d = len - 1; d >= 0; --d) {
    digits[d] = k % kAlphabetSize;
    k /= kAlphabetSize;
  }
  for (int64_t d : digits) piece += kAlphabet[d];
  return piece;
}

absl::Status validate_synthetic_config(const SyntheticConfig& c) {
  QUANTD_RETURN_IF_ERROR(check(c.dim >= 2 && c.dim <= (1 << 17), absl::StrCat("dim ", c.dim, " is outside [2, 131072]")));
  QUANTD_RETURN_IF_ERROR(check(c.layers >= 1 && c.layers <= 1024, absl::StrCat("layers ", c.layers, " is outside [1, 1024]")));
  QUANTD_RETURN_IF_ERROR(check(c.heads >= 1 && c.dim % c.heads == 0 && (c.dim / c.heads) % 2 == 0,
                               absl::StrCat("heads ", c.heads, " must divide dim ", c.dim, " into even head sizes")));
  QUANTD_RETURN_IF_ERROR(check(c.kv_heads >= 1 && c.heads % c.kv_heads == 0,
                               absl::StrCat("kv-heads ", c.kv_heads, " must divide heads ", c.heads)));
  QUANTD_RETURN_IF_ERROR(check(c.ffn >= 1 && c.ffn <= (1 << 20), absl::StrCat("ffn ", c.ffn, " is outside [1, 1048576]")));
  QUANTD_RETURN_IF_ERROR(check(c.vocab >= kSpecialTokens + kByteTokens && c.vocab <= (1 << 22),
                               absl::StrCat("vocab ", c.vocab, " is outside [259, 4194304] (3 special + 256 byte tokens)")));
  QUANTD_RETURN_IF_ERROR(check(c.context >= 1 && c.context <= (1 << 24), absl::StrCat("ctx ", c.context, " is outside [1, 2^24]")));
  const kernels::FormatInfo* info = kernels::find_format(c.type);
  QUANTD_RETURN_IF_ERROR(check(info != nullptr, "unknown type"));
  const std::string err = kernels::select_kernels();
  if (!err.empty()) return absl::FailedPreconditionError(err);
  return check(kernels::kernels()[c.type].vec_dot != nullptr,
               absl::StrCat("type ", std::string(info->name), " is an activation format, not a weight format"));
}

absl::Status write_synthetic_gguf(const SyntheticConfig& c, const std::string& path) {
  QUANTD_RETURN_IF_ERROR(validate_synthetic_config(c));
  const kernels::FormatInfo& info = *kernels::find_format(c.type);
  LlamaConfig config;
  config.n_vocab = c.vocab;
  config.n_ctx_train = c.context;
  config.n_embd = c.dim;
  config.n_layer = c.layers;
  config.n_head = c.heads;
  config.n_head_kv = c.kv_heads;
  config.n_ff = c.ffn;
  config.n_rot = config.head_dim();
  QUANTD_ASSIGN_OR_RETURN(const Architecture* arch, find_architecture(config.architecture));

  GgufWriteSpec spec;
  auto& md = spec.metadata;
  std::vector<GgufValue> tokens, scores, types;
  for (int64_t i = 0; i < c.vocab; ++i) {
    tokens.push_back(GgufValue::string(synthetic_token(i)));
    const bool piece = i >= kSpecialTokens + kByteTokens;
    scores.push_back(GgufValue::f32(piece ? -static_cast<float>(i - kSpecialTokens - kByteTokens) : 0.0f));
    types.push_back(GgufValue::i32(i == 0 ? 2 : i < kSpecialTokens ? 3 : piece ? 1 : 6));
  }
  md.emplace_back("general.architecture", GgufValue::string(config.architecture));
  md.emplace_back("general.name", GgufValue::string(c.name));
  if (info.is_block_quantized) md.emplace_back("general.quantization_version", GgufValue::u32(2));
  append_llama_config(config, true, &md);
  md.emplace_back("tokenizer.ggml.model", GgufValue::string("llama"));
  md.emplace_back("tokenizer.ggml.tokens", GgufValue::array(GgufType::kString, std::move(tokens)));
  md.emplace_back("tokenizer.ggml.scores", GgufValue::array(GgufType::kF32, std::move(scores)));
  md.emplace_back("tokenizer.ggml.token_type", GgufValue::array(GgufType::kI32, std::move(types)));
  md.emplace_back("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
  md.emplace_back("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  md.emplace_back("tokenizer.ggml.eos_token_id", GgufValue::u32(2));

  for (TensorSlot& slot : tensor_slots(*arch, config)) {
    GgufTensor t;
    t.name = std::move(slot.name);
    t.ne = std::move(slot.ne);
    // Norms are F32; matrices the type asked for, or F16 where their rows do not fit its blocks.
    const kernels::Format f =
        t.ne.size() == 1 ? kernels::Format::kF32 : matrix_format(t.ne[0], c.type, kernels::Format::kF16);
    t.ggml_type = static_cast<uint32_t>(f);
    spec.tensors.push_back(std::move(t));
  }

  const std::vector<GgufTensor> layout = spec.tensors;  // the fill callback's view
  const int threads = c.threads > 0 ? c.threads : omp_get_max_threads();
  spec.fill = [&](size_t index, std::span<uint8_t> out) -> absl::Status {
    const GgufTensor& t = layout[index];
    const int64_t n = t.ne[0], rows = t.elements() / n;
    if (t.ne.size() == 1) {
      const std::vector<float> ones(static_cast<size_t>(n), 1.0f);
      std::memcpy(out.data(), ones.data(), out.size());
      return absl::OkStatus();
    }
    const kernels::FormatInfo& f = *kernels::find_format(t.ggml_type);
    const kernels::QuantizeRowFn quantize = kernels::kernels()[f.format].quantize_row;
    const size_t row = kernels::row_bytes(f, n);
    const uint64_t tensor_key = splitmix64(c.seed ^ splitmix64(index + 1));
#pragma omp parallel num_threads(threads)
    {
      std::vector<float> x(static_cast<size_t>(n));
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        normal_row(tensor_key ^ splitmix64(static_cast<uint64_t>(r) * 0x100000001b3ull + 7), kWeightScale,
                   x.data(), n);
        quantize(x.data(), out.data() + r * row, n);
      }
    }
    return absl::OkStatus();
  };
  return write_gguf(path, spec);
}

}  // namespace quantd::model
