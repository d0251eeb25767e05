// ModelRegistry: a name -> shared_ptr map under one mutex. Removing a model drops only the
// registry's reference; requests that hold the shared_ptr keep the model (and its mapping).
#include "absl/strings/str_cat.h"
#include "server/model/model.h"

namespace quantd::model {

absl::Status ModelRegistry::add(std::shared_ptr<const Model> model) {
  if (model == nullptr) return absl::InvalidArgumentError("null model");
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = models_.emplace(model->name(), model);
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat("model '", model->name(), "' is already loaded (from '",
                                                 it->second->path(), "')"));
  }
  return absl::OkStatus();
}

absl::Status ModelRegistry::remove(const std::string& name) {
  std::shared_ptr<const Model> dropped;  // released after the lock: munmap can be slow
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) return absl::NotFoundError(absl::StrCat("model '", name, "' is not loaded"));
    dropped = std::move(it->second);
    models_.erase(it);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Model>> ModelRegistry::get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return absl::NotFoundError(absl::StrCat("model '", name, "' is not loaded"));
  return it->second;
}

std::vector<std::shared_ptr<const Model>> ModelRegistry::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const Model>> out;
  out.reserve(models_.size());
  for (const auto& [name, model] : models_) out.push_back(model);
  return out;
}

}  // namespace quantd::model
