#include "server/engine/engine.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace quantd::engine {
namespace {

// Loaded models' paths are canonical: so must the directory be that summaries strip from them
// (--model_dir=../models would otherwise show the server's absolute paths to clients).
EngineOptions canonical(EngineOptions o) {
  std::error_code ec;
  if (!o.model_dir.empty()) {
    const std::filesystem::path p = std::filesystem::weakly_canonical(o.model_dir, ec);
    if (!ec) o.model_dir = p.string();
  }
  return o;
}

}  // namespace

Engine::Engine(const EngineOptions& options)
    : options_(canonical(options)),
      compute_(Admission::Options{.max_active = 1,
                                  .slot = "a compute slot",
                                  .holders = "compute jobs",
                                  .limits = "one parallel job at a time",
                                  .on_change =
                                      [m = options.metrics](int, int queued) {
                                        if (m != nullptr) m->compute_queue.Set(queued);
                                      }}),
      generations_(Admission::Options{.max_active = options.max_generations,
                                      .max_queued = options.generate_queue,
                                      .slot = "a generation slot",
                                      .holders = "generations",
                                      .limits = absl::StrCat("--max_generations=", options.max_generations,
                                                             ", --generate_queue=", options.generate_queue),
                                      .on_change = [m = options.metrics](int active, int queued) {
                                        if (m == nullptr) return;
                                        m->active_streams.Set(active);
                                        m->generate_queue.Set(queued);
                                      }}) {}

}  // namespace quantd::engine
