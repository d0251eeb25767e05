// isa_logits: the forward pass of stories260K on whatever kernel ISA dispatch picks (QUANTD_ISA
// or the best this CPU has), for comparing x86 and arm64 bit for bit (tests/arm64).
//
//   isa_logits MODELS_DIR OUT_DIR [STEPS]
//
// For each model variant (F32, F32 re-quantized to q8_0 at load, the llama.cpp q8_0/q4_0/q5_0
// files) it feeds a fixed prompt, then decodes STEPS greedy tokens one at a time, and writes
//   OUT_DIR/<variant>.ids     prompt ids, then the greedy ids (text, one line each)
//   OUT_DIR/<variant>.logits  float32 little-endian: the logits after the last prompt token,
//                             then after each decoded token ((STEPS) x n_vocab values)
// and prints "isa <name>" plus one "<variant> <fnv1a-64 of the logits bytes>" line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "quantd/kernels/kernels.h"
#include "server/llm/llama.h"
#include "server/llm/sampler.h"
#include "server/llm/session.h"
#include "server/llm/tokenizer.h"
#include "server/model/model.h"

namespace {

constexpr char kPrompt[] = "Once upon a time, there was a little girl named Lily. She loved to play";

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "isa_logits: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace quantd;
  if (argc < 3) return fail("usage: isa_logits MODELS_DIR OUT_DIR [STEPS]");
  const std::string dir = argv[1], out = argv[2];
  const int steps = argc > 3 ? std::atoi(argv[3]) : 24;
  if (std::string err = kernels::select_kernels(); !err.empty()) return fail(err);
  std::printf("isa %s\n", std::string(kernels::isa_name(kernels::kernels().isa)).c_str());

  struct Variant {
    const char* tag;
    const char* file;
    const char* target;  // nullptr: keep the file's types
  };
  const Variant variants[] = {
      {"f32", "stories260K.gguf", nullptr},
      {"f32_to_q8_0", "stories260K.gguf", "q8_0"},
      {"llamacpp_q8_0", "stories260K-llamacpp-q8_0-fallback.gguf", nullptr},
      {"llamacpp_q4_0", "stories260K-llamacpp-q4_0-fallback.gguf", nullptr},
      {"llamacpp_q5_0", "stories260K-llamacpp-q5_0-fallback.gguf", nullptr},
  };
  for (const Variant& v : variants) {
    model::LoadOptions options;
    if (v.target != nullptr) {
      const kernels::FormatInfo* f = kernels::find_format(v.target);
      if (f == nullptr) return fail(std::string("unknown format ") + v.target);
      options.target = f->format;
    }
    auto m = model::Model::load(v.tag, dir + "/" + v.file, options);
    if (!m.ok()) return fail(std::string(v.file) + ": " + m.status().ToString());
    auto llama = llm::Llama::create(*m);
    if (!llama.ok()) return fail(llama.status().ToString());
    auto tok = llm::Tokenizer::from_gguf((*m)->gguf());
    if (!tok.ok()) return fail(tok.status().ToString());
    const std::vector<int32_t> prompt = (*tok)->encode(kPrompt, true);
    auto session = (*llama)->new_session(256);
    if (!session.ok()) return fail(session.status().ToString());
    auto sampler = llm::Sampler::create(llm::SamplerConfig{.temperature = 0.0f}, (*llama)->config().n_vocab);
    if (!sampler.ok()) return fail(sampler.status().ToString());

    std::vector<float> logits;
    std::vector<int32_t> ids;
    if (absl::Status s = (*session)->prefill(prompt, 1); !s.ok()) return fail(s.ToString());
    for (int i = 0; i < steps; ++i) {
      const std::vector<float>& l = (*session)->logits();
      logits.insert(logits.end(), l.begin(), l.end());
      const int32_t next = sampler->sample(l);
      ids.push_back(next);
      if (i + 1 < steps) {
        if (absl::Status s = (*session)->decode(next, 1); !s.ok()) return fail(s.ToString());
      }
    }
    std::ofstream f(out + "/" + v.tag + ".logits", std::ios::binary);
    f.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * sizeof(float)));
    std::ofstream t(out + "/" + v.tag + ".ids");
    for (int32_t id : prompt) t << id << ' ';
    t << '\n';
    for (int32_t id : ids) t << id << ' ';
    t << '\n';
    if (!f || !t) return fail("cannot write to " + out);
    std::printf("%s %016llx\n", v.tag,
                static_cast<unsigned long long>(fnv1a(logits.data(), logits.size() * sizeof(float))));
  }
  return 0;
}
