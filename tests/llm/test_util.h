// Shared helpers for the llm tests: where the test models are, loading them once.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "server/llm/llama.h"
#include "server/llm/tokenizer.h"
#include "server/model/model.h"

namespace quantd::llm::testing {

inline std::string models_dir() {
  if (const char* d = std::getenv("QUANTD_MODELS_DIR"); d != nullptr && *d != '\0') return d;
  return QUANTD_DEFAULT_MODELS_DIR;
}

inline std::string model_path(const std::string& file) { return models_dir() + "/" + file; }

inline std::shared_ptr<const model::Model> load_model(const std::string& file, model::LoadOptions options = {}) {
  auto m = model::Model::load(file, model_path(file), options);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : nullptr;
}

inline std::shared_ptr<const Llama> load_llama(const std::string& file, model::LoadOptions options = {}) {
  std::shared_ptr<const model::Model> m = load_model(file, options);
  if (m == nullptr) return nullptr;
  auto l = Llama::create(m);
  EXPECT_TRUE(l.ok()) << l.status();
  return l.ok() ? *l : nullptr;
}

inline std::unique_ptr<const Tokenizer> load_tokenizer(const model::Model& m) {
  auto t = Tokenizer::from_gguf(m.gguf());
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : nullptr;
}

}  // namespace quantd::llm::testing
