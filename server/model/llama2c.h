// Conversion of a llama2.c model (legacy version-0 checkpoint + tokenizer.bin) to GGUF.
//
// Checkpoint: 7 x int32 header (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
// seq_len; a negative vocab_size means the classifier is stored separately), then float32
// arrays: token_embedding [vocab][dim], rms_att [L][dim], wq [L][dim][dim], wk and wv
// [L][kv_dim][dim], wo [L][dim][dim], rms_ffn [L][dim], w1 [L][hidden][dim],
// w2 [L][dim][hidden], w3 [L][hidden][dim], rms_final [dim], freq_cis_real and freq_cis_imag
// [seq_len][head_size/2] (unused: RoPE is recomputed), then wcls [vocab][dim] if unshared.
// Each matrix is [out][in], which is GGUF's row-major [ne1][ne0] with ne0 = in: the bytes are
// copied as they are. llama2.c's run.c rotates adjacent pairs (i, i+1), as ggml's normal RoPE
// does for llama GGUFs, so Q and K need no permutation (the tests check stories260K.bin against
// stories260K.gguf bit for bit).
//
// Tokenizer: int32 max_token_length, then per token float32 score, int32 length, bytes. Pieces
// are written with U+2581 as a space and BOS/EOS as "\n<s>\n" / "\n</s>\n" (llama2.c's
// export); they are mapped back to SentencePiece form here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/model/gguf.h"

namespace quantd::model {

struct Llama2cConfig {
  int32_t dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;
};

struct Llama2cOptions {
  int64_t context_length = 0;  // llama.context_length; 0: the checkpoint's seq_len
  std::string name = "llama";  // general.name
  float rms_eps = 1e-5f;       // llama2.c hard-codes 1e-5
};

// The GGUF to write and the memory its tensors point into.
struct Llama2cGguf {
  Llama2cConfig config;
  GgufWriteSpec spec;
  std::vector<float> weights;  // the checkpoint's floats after the header
};

absl::StatusOr<std::unique_ptr<Llama2cGguf>> convert_llama2c(const std::string& checkpoint_path,
                                                             const std::string& tokenizer_path,
                                                             const Llama2cOptions& options = {});

// convert_llama2c() then write_gguf().
absl::Status convert_llama2c_file(const std::string& checkpoint_path, const std::string& tokenizer_path,
                                  const std::string& out_path, const Llama2cOptions& options = {});

}  // namespace quantd::model
