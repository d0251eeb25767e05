// Synthetic Llama GGUF files: random weights of a chosen shape and type, for benchmarks and
// tests at sizes no small real model has (a 7B-shaped file without downloading one).
//
// Weights are N(0, 0.02^2) (a typical initialisation scale, so activations stay finite
// through many layers), norms are 1, all from a counter-based generator seeded by
// (seed, tensor, row): the file is the same for a seed whatever the thread count.
// The vocabulary is SentencePiece-like: <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>,
// then pieces over "▁a..z" enumerated by length (every piece's prefix is also a piece, so
// BPE merges can reach each one), scored by rank. So vocab must be at least 259.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "quantd/kernels/formats.h"

namespace quantd::model {

struct SyntheticConfig {
  int64_t dim = 2048;
  int64_t layers = 8;
  int64_t heads = 32;
  int64_t kv_heads = 4;
  int64_t ffn = 5632;
  int64_t vocab = 32000;
  int64_t context = 2048;
  // Type of the matrices; a matrix whose rows are not a multiple of its block size is F16.
  // 1-D norms are always F32.
  kernels::Format type = kernels::Format::kF32;
  uint64_t seed = 1;
  int threads = 0;  // OpenMP threads for generation; <= 0: OpenMP's default
  std::string name = "synthetic";
};

absl::Status validate_synthetic_config(const SyntheticConfig& config);
absl::Status write_synthetic_gguf(const SyntheticConfig& config, const std::string& path);

// The i-th piece of the generated vocabulary (exposed for tests).
std::string synthetic_token(int64_t id);

}  // namespace quantd::model
