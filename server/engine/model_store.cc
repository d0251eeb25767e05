#include "server/engine/model_store.h"

#include "absl/strings/str_cat.h"
#include "server/common/status.h"

namespace quantd::engine {
namespace {

absl::Status not_loaded(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("model '", name, "' is not loaded"));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const LoadedModel>> make_loaded(std::shared_ptr<const model::Model> m) {
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const llm::Llama> llama, llm::Llama::create(m));
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<const llm::Tokenizer> tokenizer, llm::Tokenizer::from_gguf(m->gguf()));
  return std::make_shared<const LoadedModel>(
      LoadedModel{std::move(m), std::move(llama), std::shared_ptr<const llm::Tokenizer>(std::move(tokenizer))});
}

ModelStore::Reservation::~Reservation() {
  if (store_ == nullptr) return;
  std::lock_guard lock(store_->mu_);
  store_->reserved_.erase(name_);
}

void ModelStore::Reservation::commit(std::shared_ptr<const LoadedModel> loaded) {
  std::lock_guard lock(store_->mu_);
  store_->reserved_.erase(name_);
  store_->models_.emplace(name_, std::move(loaded));
  store_ = nullptr;
}

absl::StatusOr<ModelStore::Reservation> ModelStore::reserve(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("name is empty");
  std::lock_guard lock(mu_);
  if (models_.count(name) != 0 || !reserved_.insert(name).second) {
    return absl::AlreadyExistsError(absl::StrCat("a model named '", name, "' is loaded"));
  }
  return Reservation(this, name);
}

absl::StatusOr<std::shared_ptr<const LoadedModel>> ModelStore::get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return not_loaded(name);
  return it->second;
}

absl::StatusOr<std::shared_ptr<const LoadedModel>> ModelStore::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return not_loaded(name);
  std::shared_ptr<const LoadedModel> dropped = std::move(it->second);
  models_.erase(it);
  return dropped;  // the caller lets go outside the lock: munmap can be slow
}

bool ModelStore::contains(const std::string& name) const {
  std::lock_guard lock(mu_);
  return models_.count(name) != 0;
}

std::vector<std::shared_ptr<const LoadedModel>> ModelStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const LoadedModel>> out;
  out.reserve(models_.size());
  for (const auto& [name, m] : models_) out.push_back(m);
  return out;
}

}  // namespace quantd::engine
