// The tensor tables. The Llama table's order is llama.cpp's converter order, which the
// llama2.c converter relies on to reproduce stories260K.gguf byte for byte.
#include "server/model/llama_arch.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "server/common/status.h"

namespace quantd::model {
namespace {

TensorShape embd(const LlamaConfig& c) { return {c.n_embd}; }
TensorShape embd_vocab(const LlamaConfig& c) { return {c.n_embd, c.n_vocab}; }
TensorShape embd_embd(const LlamaConfig& c) { return {c.n_embd, c.n_embd}; }
TensorShape embd_kv(const LlamaConfig& c) { return {c.n_embd, c.kv_dim()}; }
TensorShape embd_ff(const LlamaConfig& c) { return {c.n_embd, c.n_ff}; }
TensorShape ff_embd(const LlamaConfig& c) { return {c.n_ff, c.n_embd}; }

using R = TensorRole;
constexpr bool kGlobal = false, kPerLayer = true;

const TensorSpec kLlamaTensors[] = {
    {R::kTokenEmbd, "token_embd.weight", kGlobal, std::nullopt, embd_vocab},
    {R::kOutputNorm, "output_norm.weight", kGlobal, std::nullopt, embd},
    {R::kOutput, "output.weight", kGlobal, R::kTokenEmbd, embd_vocab},
    {R::kAttnQ, "blk.%d.attn_q.weight", kPerLayer, std::nullopt, embd_embd},
    {R::kAttnK, "blk.%d.attn_k.weight", kPerLayer, std::nullopt, embd_kv},
    {R::kAttnV, "blk.%d.attn_v.weight", kPerLayer, std::nullopt, embd_kv},
    {R::kAttnOutput, "blk.%d.attn_output.weight", kPerLayer, std::nullopt, embd_embd},
    {R::kAttnNorm, "blk.%d.attn_norm.weight", kPerLayer, std::nullopt, embd},
    {R::kFfnGate, "blk.%d.ffn_gate.weight", kPerLayer, std::nullopt, embd_ff},
    {R::kFfnDown, "blk.%d.ffn_down.weight", kPerLayer, std::nullopt, ff_embd},
    {R::kFfnUp, "blk.%d.ffn_up.weight", kPerLayer, std::nullopt, embd_ff},
    {R::kFfnNorm, "blk.%d.ffn_norm.weight", kPerLayer, std::nullopt, embd},
};

const Architecture kArchitectures[] = {
    {"llama", kLlamaTensors},
};

}  // namespace

const TensorSpec* Architecture::find(TensorRole role) const {
  for (const TensorSpec& s : tensors) {
    if (s.role == role) return &s;
  }
  return nullptr;
}

absl::StatusOr<const Architecture*> find_architecture(std::string_view name) {
  for (const Architecture& a : kArchitectures) {
    if (a.name == name) return &a;
  }
  std::vector<std::string> known;
  for (const Architecture& a : kArchitectures) known.push_back(absl::StrCat("'", sv(a.name), "'"));
  return absl::InvalidArgumentError(absl::StrCat("unsupported architecture '", sv(name),
                                                 "' (general.architecture); quantd runs ",
                                                 absl::StrJoin(known, ", ")));
}

std::vector<TensorSlot> tensor_slots(const Architecture& arch, const LlamaConfig& config) {
  std::vector<TensorSlot> slots;
  for (const TensorSpec& s : arch.tensors) {
    if (!s.per_layer) slots.push_back({&s, -1, s.pattern, s.shape(config)});
  }
  for (int64_t layer = 0; layer < config.n_layer; ++layer) {
    const std::string index = absl::StrCat(layer);
    for (const TensorSpec& s : arch.tensors) {
      if (s.per_layer) slots.push_back({&s, layer, absl::StrReplaceAll(s.pattern, {{"%d", index}}), s.shape(config)});
    }
  }
  return slots;
}

}  // namespace quantd::model
