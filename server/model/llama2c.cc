// llama2.c checkpoint + tokenizer -> GGUF, laid out as llama.cpp's converter lays it out
// (same keys, key order and tensor order), so converting stories260K reproduces the published
// stories260K.gguf.
#include "server/model/llama2c.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "quantd/kernels/formats.h"
#include "server/common/status.h"
#include "server/model/llama_arch.h"
#include "server/model/llama_params.h"

namespace quantd::model {
namespace {

constexpr uint32_t kNoToken = 0xffffffffu;  // llama.cpp writes "none" ids as u32 max
// SentencePiece token types, as tokenizer.ggml.token_type stores them.
constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6;

absl::StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read '", path, "'"));
  return bytes;
}

absl::StatusOr<Llama2cConfig> parse_header(const std::string& path, const std::string& bytes) {
  int32_t h[7];
  if (bytes.size() < sizeof h) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", bytes.size(), " bytes, shorter than the 28-byte header"));
  }
  std::memcpy(h, bytes.data(), sizeof h);
  Llama2cConfig c{h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[5] > 0};
  if (c.vocab_size < 0) c.vocab_size = -c.vocab_size;
  const struct {
    const char* name;
    int32_t value, max;
  } fields[] = {{"dim", c.dim, 1 << 16},          {"hidden_dim", c.hidden_dim, 1 << 20},
                {"n_layers", c.n_layers, 1 << 10}, {"n_heads", c.n_heads, 1 << 12},
                {"n_kv_heads", c.n_kv_heads, 1 << 12}, {"vocab_size", c.vocab_size, 1 << 22},
                {"seq_len", c.seq_len, 1 << 24}};
  for (size_t i = 0; i < std::size(fields); ++i) {
    if (fields[i].value < 1 || fields[i].value > fields[i].max) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": header field ", fields[i].name, " at offset ", 4 * i,
                                                     " = ", fields[i].value, " is outside [1, ", fields[i].max, "]"));
    }
  }
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 || (c.dim / c.n_heads) % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": dim ", c.dim, ", n_heads ", c.n_heads, ", n_kv_heads ",
                                                   c.n_kv_heads, " do not divide into even-sized heads"));
  }
  return c;
}

// llama2.c writes a space for U+2581 and wraps BOS/EOS in newlines; undo both.
std::string sentencepiece_piece(const std::string& raw) {
  if (raw == "\n<s>\n") return "<s>";
  if (raw == "\n</s>\n") return "</s>";
  return absl::StrReplaceAll(raw, {{" ", "\xe2\x96\x81"}});
}

bool is_byte_piece(const std::string& p) {
  auto hex = [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F'); };
  return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && hex(p[3]) && hex(p[4]) && p[5] == '>';
}

absl::Status add_tokenizer(const std::string& path, int32_t vocab_size,
                           std::vector<std::pair<std::string, GgufValue>>* md) {
  QUANTD_ASSIGN_OR_RETURN(const std::string bytes, read_file(path));
  size_t pos = 4;  // max_token_length: not needed
  if (bytes.size() < pos) return absl::InvalidArgumentError(absl::StrCat(path, ": shorter than its header"));
  std::vector<GgufValue> tokens, scores, types;
  for (int32_t i = 0; i < vocab_size; ++i) {
    float score;
    int32_t len;
    if (bytes.size() - pos < 8) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": token ", i, " at offset ", pos, ": file ends"));
    }
    std::memcpy(&score, bytes.data() + pos, 4);
    std::memcpy(&len, bytes.data() + pos + 4, 4);
    if (len < 0 || static_cast<size_t>(len) > bytes.size() - pos - 8) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": token ", i, " at offset ", pos + 4, ": length ", len,
                                                     " exceeds the bytes left"));
    }
    const std::string piece = sentencepiece_piece(bytes.substr(pos + 8, len));
    pos += 8 + static_cast<size_t>(len);
    int32_t type = kNormal;
    if (piece == "<unk>") type = kUnknown;
    if (piece == "<s>" || piece == "</s>") type = kControl;
    if (is_byte_piece(piece)) type = kByte;
    tokens.push_back(GgufValue::string(piece));
    scores.push_back(GgufValue::f32(score));
    types.push_back(GgufValue::i32(type));
  }
  if (pos != bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", bytes.size() - pos, " bytes after token ",
                                                   vocab_size - 1, ": vocabulary size mismatch?"));
  }
  md->emplace_back("tokenizer.ggml.tokens", GgufValue::array(GgufType::kString, std::move(tokens)));
  md->emplace_back("tokenizer.ggml.scores", GgufValue::array(GgufType::kF32, std::move(scores)));
  md->emplace_back("tokenizer.ggml.token_type", GgufValue::array(GgufType::kI32, std::move(types)));
  md->emplace_back("tokenizer.ggml.model", GgufValue::string("llama"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Llama2cGguf>> convert_llama2c(const std::string& checkpoint_path,
                                                             const std::string& tokenizer_path,
                                                             const Llama2cOptions& options) {
  QUANTD_ASSIGN_OR_RETURN(const std::string bytes, read_file(checkpoint_path));
  QUANTD_ASSIGN_OR_RETURN(const Llama2cConfig c, parse_header(checkpoint_path, bytes));
  const int64_t dim = c.dim, hidden = c.hidden_dim, L = c.n_layers, vocab = c.vocab_size;
  const int64_t head = dim / c.n_heads, kv_dim = head * c.n_kv_heads;
  // Header fields are bounded above, so these products fit easily in int64.
  const int64_t floats = vocab * dim + L * dim + L * dim * dim + 2 * L * kv_dim * dim + L * dim * dim + L * dim +
                         3 * L * hidden * dim + dim + int64_t{c.seq_len} * head + (c.shared_classifier ? 0 : vocab * dim);
  if (static_cast<int64_t>(bytes.size()) != 28 + 4 * floats) {
    return absl::InvalidArgumentError(absl::StrCat(checkpoint_path, ": ", bytes.size(), " bytes, but the header (dim ",
                                                   dim, ", hidden ", hidden, ", layers ", L, ", vocab ", c.vocab_size,
                                                   ") implies ", 28 + 4 * floats));
  }
  auto out = std::make_unique<Llama2cGguf>();
  out->config = c;
  out->weights.resize(floats);
  std::memcpy(out->weights.data(), bytes.data() + 28, 4 * floats);

  LlamaConfig config;
  config.n_vocab = vocab;
  config.n_ctx_train = options.context_length > 0 ? options.context_length : c.seq_len;
  config.n_embd = dim;
  config.n_layer = L;
  config.n_head = c.n_heads;
  config.n_head_kv = c.n_kv_heads;
  config.n_ff = hidden;
  config.n_rot = head;
  config.rms_eps = options.rms_eps;
  QUANTD_ASSIGN_OR_RETURN(const Architecture* arch, find_architecture(config.architecture));

  auto& md = out->spec.metadata;
  QUANTD_RETURN_IF_ERROR(add_tokenizer(tokenizer_path, c.vocab_size, &md));
  md.emplace_back("general.architecture", GgufValue::string(config.architecture));
  md.emplace_back("general.name", GgufValue::string(options.name));
  md.emplace_back("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
  md.emplace_back("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  md.emplace_back("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
  md.emplace_back("tokenizer.ggml.seperator_token_id", GgufValue::u32(kNoToken));  // sic, llama.cpp's key
  md.emplace_back("tokenizer.ggml.padding_token_id", GgufValue::u32(kNoToken));
  append_llama_config(config, false, &md);

  // Where each array starts in `weights`, in checkpoint order.
  const float* w = out->weights.data();
  const float* token_embd = w;
  const float* rms_att = token_embd + vocab * dim;
  const float* wq = rms_att + L * dim;
  const float* wk = wq + L * dim * dim;
  const float* wv = wk + L * kv_dim * dim;
  const float* wo = wv + L * kv_dim * dim;
  const float* rms_ffn = wo + L * dim * dim;
  const float* w1 = rms_ffn + L * dim;
  const float* w2 = w1 + L * hidden * dim;
  const float* w3 = w2 + L * dim * hidden;
  const float* rms_final = w3 + L * hidden * dim;
  const float* wcls = c.shared_classifier ? token_embd : rms_final + dim + int64_t{c.seq_len} * head;

  // Where each role's tensor starts for a layer (the checkpoint stores each array for all layers).
  const auto source = [&](TensorRole role, int64_t l) -> const float* {
    switch (role) {
      case TensorRole::kTokenEmbd: return token_embd;
      case TensorRole::kOutputNorm: return rms_final;
      case TensorRole::kOutput: return wcls;
      case TensorRole::kAttnQ: return wq + l * dim * dim;
      case TensorRole::kAttnK: return wk + l * kv_dim * dim;
      case TensorRole::kAttnV: return wv + l * kv_dim * dim;
      case TensorRole::kAttnOutput: return wo + l * dim * dim;
      case TensorRole::kAttnNorm: return rms_att + l * dim;
      case TensorRole::kFfnGate: return w1 + l * hidden * dim;
      case TensorRole::kFfnDown: return w2 + l * dim * hidden;
      case TensorRole::kFfnUp: return w3 + l * hidden * dim;
      case TensorRole::kFfnNorm: return rms_ffn + l * dim;
    }
    return nullptr;
  };
  // The table's order is llama.cpp's; output.weight is written even when tied, as llama.cpp does.
  for (TensorSlot& slot : tensor_slots(*arch, config)) {
    GgufTensor t;
    t.name = std::move(slot.name);
    t.ne = std::move(slot.ne);
    t.ggml_type = static_cast<uint32_t>(kernels::Format::kF32);
    t.data = reinterpret_cast<const uint8_t*>(source(slot.spec->role, slot.layer));
    out->spec.tensors.push_back(std::move(t));
  }
  return out;
}

absl::Status convert_llama2c_file(const std::string& checkpoint_path, const std::string& tokenizer_path,
                                  const std::string& out_path, const Llama2cOptions& options) {
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<Llama2cGguf> g, convert_llama2c(checkpoint_path, tokenizer_path, options));
  return write_gguf(out_path, g->spec);
}

}  // namespace quantd::model
