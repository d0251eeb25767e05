// ModelStore: names reserved while loading, duplicates refused, a model outliving its removal,
// and concurrent use (the one registry of loaded models).
#include "server/engine/model_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"

namespace quantd::engine {
namespace {

std::shared_ptr<const LoadedModel> load(const std::string& name) {
  const char* dir = std::getenv("QUANTD_MODELS_DIR");
  auto m = model::Model::load(name, std::string(dir != nullptr ? dir : "../shared/models") + "/stories260K.gguf", {});
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok()) return nullptr;
  auto loaded = make_loaded(*m);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? *loaded : nullptr;
}

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(kernels::select_kernels(), ""); }
  ModelStore store_;
};

TEST_F(ModelStoreTest, ReserveCommitGetListRemove) {
  EXPECT_TRUE(store_.list().empty());
  EXPECT_TRUE(absl::IsInvalidArgument(store_.reserve("").status()));
  {
    absl::StatusOr<ModelStore::Reservation> r = store_.reserve("a");
    ASSERT_TRUE(r.ok());
    // Taken while loading: a second load of the name fails at once, and it is not yet visible.
    EXPECT_EQ(store_.reserve("a").status().message(), "a model named 'a' is loaded");
    EXPECT_TRUE(absl::IsNotFound(store_.get("a").status()));
    r->commit(load("a"));
  }
  EXPECT_TRUE(absl::IsAlreadyExists(store_.reserve("a").status()));
  { (void)store_.reserve("b"); }  // dropped without a commit: the name is free again
  auto b = store_.reserve("b");
  ASSERT_TRUE(b.ok());
  b->commit(load("b"));

  ASSERT_TRUE(store_.get("a").ok());
  EXPECT_EQ((*store_.get("a"))->model->name(), "a");
  const auto listed = store_.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]->model->name(), "a");
  EXPECT_EQ(listed[1]->model->name(), "b");

  EXPECT_TRUE(store_.remove("a").ok());
  EXPECT_TRUE(absl::IsNotFound(store_.remove("a").status()));
  EXPECT_EQ(store_.get("a").status().message(), "model 'a' is not loaded");
  EXPECT_FALSE(store_.contains("a"));
  EXPECT_EQ(store_.list().size(), 1u);
}

TEST_F(ModelStoreTest, ModelOutlivesRemoval) {
  auto r = store_.reserve("m");
  ASSERT_TRUE(r.ok());
  r->commit(load("m"));
  std::shared_ptr<const LoadedModel> held = *store_.get("m");
  const model::ModelTensor* t = held->model->tensor("output.weight");
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(store_.remove("m").ok());
  EXPECT_EQ(held.use_count(), 1);
  // The mapping is still there: read every byte.
  uint64_t sum = 0;
  for (uint64_t i = 0; i < t->bytes; ++i) sum += t->data[i];
  EXPECT_GT(sum, 0u);
}

TEST_F(ModelStoreTest, ConcurrentReserveGetRemoveListStayConsistent) {
  std::shared_ptr<const LoadedModel> base = load("x");
  std::vector<std::shared_ptr<const LoadedModel>> models;  // m0..m4, sharing base's mapping
  for (int i = 0; i < 5; ++i) {
    const std::string name = absl::StrCat("m", i);
    auto derived = make_loaded(model::Model::derive(name, base->model, base->model->tensors(), {}));
    ASSERT_TRUE(derived.ok()) << derived.status();
    models.push_back(*derived);
  }
  std::atomic<int> inconsistent{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 300; ++i) {
        const int j = (i + k) % 5;
        const std::string name = absl::StrCat("m", j);
        if (auto r = store_.reserve(name); r.ok()) r->commit(models[j]);
        if (auto m = store_.get(name); m.ok() && (*m)->model->name() != name) ++inconsistent;
        if (i % 3 == k % 3) (void)store_.remove(name);
        std::set<std::string> seen;
        for (const auto& m : store_.list()) {
          if (!seen.insert(m->model->name()).second) ++inconsistent;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_LE(store_.list().size(), 5u);
}

}  // namespace
}  // namespace quantd::engine
