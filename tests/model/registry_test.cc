// ModelRegistry: add, duplicate, get, list, remove, and a model outliving its removal.
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/model/model.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

std::shared_ptr<const Model> load(const std::string& name) {
  auto m = Model::load(name, testing::model_path("stories260K.gguf"), {});
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : nullptr;
}

TEST(Registry, AddGetListRemove) {
  ModelRegistry registry;
  EXPECT_TRUE(registry.list().empty());
  ASSERT_TRUE(registry.add(load("a")).ok());
  ASSERT_TRUE(registry.add(load("b")).ok());
  const absl::Status dup = registry.add(load("a"));
  EXPECT_TRUE(absl::IsAlreadyExists(dup)) << dup;
  EXPECT_NE(dup.message().find("model 'a' is already loaded"), std::string::npos);
  EXPECT_TRUE(absl::IsInvalidArgument(registry.add(nullptr)));

  auto a = registry.get("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->name(), "a");
  const auto listed = registry.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]->name(), "a");
  EXPECT_EQ(listed[1]->name(), "b");

  EXPECT_TRUE(registry.remove("a").ok());
  EXPECT_TRUE(absl::IsNotFound(registry.remove("a")));
  EXPECT_TRUE(absl::IsNotFound(registry.get("a").status()));
  EXPECT_EQ(registry.get("a").status().message(), "model 'a' is not loaded");
  EXPECT_TRUE(absl::IsNotFound(registry.remove("never")));
  EXPECT_EQ(registry.list().size(), 1u);
  // The name is free again.
  EXPECT_TRUE(registry.add(load("a")).ok());
}

TEST(Registry, ModelOutlivesRemoval) {
  ModelRegistry registry;
  ASSERT_TRUE(registry.add(load("m")).ok());
  std::shared_ptr<const Model> held = *registry.get("m");
  const ModelTensor* t = held->tensor("output.weight");
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(registry.remove("m").ok());
  EXPECT_EQ(held.use_count(), 1);
  // The mapping is still there: read every byte.
  uint64_t sum = 0;
  for (uint64_t i = 0; i < t->bytes; ++i) sum += t->data[i];
  EXPECT_GT(sum, 0u);
}

TEST(Registry, ConcurrentUse) {
  ModelRegistry registry;
  std::shared_ptr<const Model> shared = load("x");
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 200; ++i) {
        const std::string name = absl::StrCat("m", (i + k) % 5);
        auto m = Model::derive(name, shared, shared->tensors(), {});
        (void)registry.add(m);
        (void)registry.get(name);
        (void)registry.list();
        (void)registry.remove(name);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(registry.list().size(), 5u);
}

}  // namespace
}  // namespace quantd::model
