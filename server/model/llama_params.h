// Internal to Model::load: reading and checking the Llama hyper-parameters and tensor shapes.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/model/gguf.h"
#include "server/model/model.h"

namespace quantd::model {

// The llama.* keys (docs/gguf.md "LLM" section, llama.cpp's names). INVALID_ARGUMENT naming
// the key and value when one is missing, of the wrong type or out of range.
absl::StatusOr<LlamaParams> parse_llama_params(const GgufFile& file);

// Every tensor the forward pass reads is present with the shape the parameters imply:
// token_embd [n_embd, n_vocab], output_norm [n_embd], output [n_embd, n_vocab] (optional:
// absent means tied to token_embd), and per layer attn_norm / ffn_norm [n_embd] (F32),
// attn_q / attn_output [n_embd, n_embd], attn_k / attn_v [n_embd, n_embd_kv],
// ffn_gate / ffn_up [n_embd, n_ff], ffn_down [n_ff, n_embd]. Other tensors are allowed.
absl::Status check_llama_tensors(const LlamaParams& params, const GgufFile& file);

}  // namespace quantd::model
