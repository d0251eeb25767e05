// The models in memory, each with what Generate needs of it (the forward pass over its weights
// and its tokenizer), in one map under one lock: a name is either wholly loaded or absent.
// Loading a model takes seconds, so a name is first reserved: a second load of the same name
// fails at once instead of doing the work twice, and the name cannot be taken while loading.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/llm/llama.h"
#include "server/llm/tokenizer.h"
#include "server/model/model.h"

namespace quantd::engine {

struct LoadedModel {
  std::shared_ptr<const model::Model> model;
  std::shared_ptr<const llm::Llama> llama;
  std::shared_ptr<const llm::Tokenizer> tokenizer;
};

// Builds the runner parts of a loaded model (INVALID_ARGUMENT when the forward pass or the
// tokenizer cannot be built from it).
absl::StatusOr<std::shared_ptr<const LoadedModel>> make_loaded(std::shared_ptr<const model::Model> m);

class ModelStore {
 public:
  // A name held while its model is being built; released unless commit() succeeded.
  class Reservation {
   public:
    Reservation(Reservation&& other) noexcept : store_(other.store_), name_(std::move(other.name_)) {
      other.store_ = nullptr;
    }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    Reservation& operator=(Reservation&&) = delete;
    ~Reservation();
    // Makes the model visible under the reserved name (its name must be that name).
    void commit(std::shared_ptr<const LoadedModel> loaded);

   private:
    friend class ModelStore;
    Reservation(ModelStore* store, std::string name) : store_(store), name_(std::move(name)) {}
    ModelStore* store_;
    std::string name_;
  };

  // INVALID_ARGUMENT for an empty name, ALREADY_EXISTS when loaded or being loaded.
  absl::StatusOr<Reservation> reserve(const std::string& name);
  // NOT_FOUND when absent. Requests holding the model keep it (and its mapping) until they end.
  absl::StatusOr<std::shared_ptr<const LoadedModel>> get(const std::string& name) const;
  absl::StatusOr<std::shared_ptr<const LoadedModel>> remove(const std::string& name);
  bool contains(const std::string& name) const;
  std::vector<std::shared_ptr<const LoadedModel>> list() const;  // by name

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const LoadedModel>> models_;
  std::set<std::string> reserved_;
};

}  // namespace quantd::engine
