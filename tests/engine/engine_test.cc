// The engine as the handlers see it, with no socket: the model store stays consistent under
// concurrent load/unload/generate, Generate's slots refuse and queue, cancellation stops work
// at once, and the reply limits hold. Runs on the real stories260K model.
#include "server/engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "quantd/kernels/kernels.h"

namespace quantd::engine {
namespace {

using namespace std::chrono_literals;

std::string models_dir() {
  const char* dir = std::getenv("QUANTD_MODELS_DIR");
  return dir != nullptr ? dir : "../shared/models";
}

EngineOptions options(int max_generations = 4, int generate_queue = 16) {
  EngineOptions o;
  o.threads = 2;
  o.model_dir = models_dir();
  o.max_generations = max_generations;
  o.generate_queue = generate_queue;
  return o;
}

GenerateRequest greedy(const std::string& model, int max_tokens) {
  GenerateRequest r;
  r.model = model;
  r.params.prompt = "Once upon a time";
  r.params.sampling.temperature = 0;
  r.params.max_tokens = max_tokens;
  return r;
}

// Token ids of a whole greedy generation.
absl::StatusOr<std::vector<int32_t>> run(Engine& e, const GenerateRequest& r) {
  CancelToken none;
  std::vector<int32_t> ids;
  absl::StatusOr<llm::GenerateResult> result = e.generate(r, none, [&](const llm::GenerateChunk& c) {
    ids.insert(ids.end(), c.token_ids.begin(), c.token_ids.end());
    return true;
  });
  if (!result.ok()) return result.status();
  return ids;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(kernels::select_kernels(), ""); }
};

TEST_F(EngineTest, LoadListInspectUnload) {
  Engine e(options());
  absl::StatusOr<ModelSummary> s = e.load_model("tiny", "stories260K.gguf", "");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "tiny");
  EXPECT_EQ(s->path, "stories260K.gguf");
  EXPECT_EQ(s->architecture, "llama");
  EXPECT_GT(s->bytes_mapped, 0u);
  EXPECT_EQ(e.load_model("tiny", "stories260K.gguf", "").status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_EQ(e.list_models().size(), 1u);
  absl::StatusOr<ModelDetails> d = e.model_info("tiny");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->summary.tensor_count, static_cast<int32_t>(d->tensors.size()));
  EXPECT_EQ(d->params.n_layer, 5);
  EXPECT_TRUE(e.unload_model("tiny").ok());
  EXPECT_EQ(e.unload_model("tiny").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(e.model_info("tiny").status().message(), "model 'tiny' is not loaded");
  EXPECT_TRUE(e.list_models().empty());
}

TEST_F(EngineTest, StartupModelPathsResolveLikeLoadModel) {
  Engine e(options());
  // Relative to model_dir, as LoadModel's, not to the working directory.
  absl::StatusOr<ModelSummary> s = e.load_startup_model("tiny", "stories260K.gguf", "q8_0");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_GT(s->bytes_allocated, 0u);  // re-quantized at load
  EXPECT_EQ(e.load_startup_model("x", "no-such.gguf", "").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EngineTest, ConcurrentLoadUnloadGenerateKeepTheStoreConsistent) {
  Engine e(options(/*max_generations=*/8, /*generate_queue=*/64));
  ASSERT_TRUE(e.load_model("keep", "stories260K.gguf", "").ok());
  absl::StatusOr<std::vector<int32_t>> before = run(e, greedy("keep", 8));
  ASSERT_TRUE(before.ok()) << before.status();

  std::atomic<bool> bad_status{false}, duplicate{false};
  auto loop = [&](int kind) {
    for (int i = 0; i < 200; ++i) {
      absl::Status s;
      if (kind == 0) s = e.load_model("churn", "stories260K.gguf", "").status();
      if (kind == 1) s = e.unload_model("churn");
      if (kind == 2) {
        absl::StatusOr<std::vector<int32_t>> ids = run(e, greedy("churn", 4));
        s = ids.status();
        // A generation that started finishes on the model it started with, whatever unloads.
        if (ids.ok() && ids->size() != 4) bad_status = true;
      }
      if (kind == 3) {
        std::set<std::string> names;
        for (const ModelSummary& m : e.list_models()) {
          if (!names.insert(m.name).second) duplicate = true;
        }
      }
      const absl::StatusCode c = s.code();
      if (c != absl::StatusCode::kOk && c != absl::StatusCode::kAlreadyExists && c != absl::StatusCode::kNotFound) {
        bad_status = true;
        ADD_FAILURE() << s;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int kind = 0; kind < 4; ++kind) threads.emplace_back(loop, kind);
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(bad_status);
  EXPECT_FALSE(duplicate);

  // What was held is untouched: the other model still answers as before.
  absl::StatusOr<std::vector<int32_t>> after = run(e, greedy("keep", 8));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  (void)e.unload_model("churn");
  ASSERT_EQ(e.list_models().size(), 1u);
  EXPECT_EQ(e.list_models()[0].name, "keep");
}

// A generation that blocks in its first emit until released, on a thread of its own.
struct BlockedGeneration {
  std::promise<void> started, release;
  std::future<absl::StatusOr<llm::GenerateResult>> done;
  CancelToken token;

  BlockedGeneration(Engine& e, const GenerateRequest& r) {
    std::shared_future<void> go = release.get_future().share();
    done = std::async(std::launch::async, [this, &e, r, go] {
      bool first = true;
      return e.generate(r, token, [&](const llm::GenerateChunk&) {
        if (first) {
          first = false;
          started.set_value();
          go.wait();
        }
        return true;
      });
    });
    started.get_future().wait();
  }
};

TEST_F(EngineTest, GenerationSlotsRefuseBeyondTheQueueAndValidateFirst) {
  Engine e(options(/*max_generations=*/1, /*generate_queue=*/0));
  ASSERT_TRUE(e.load_model("tiny", "stories260K.gguf", "").ok());
  BlockedGeneration first(e, greedy("tiny", 6));

  absl::StatusOr<std::vector<int32_t>> refused = run(e, greedy("tiny", 4));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("--max_generations=1, --generate_queue=0"), std::string::npos)
      << refused.status();
  // A bad request is refused for what it is, before it would queue.
  EXPECT_EQ(run(e, greedy("tiny", 0)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run(e, greedy("nope", 4)).status().code(), absl::StatusCode::kNotFound);

  first.release.set_value();
  ASSERT_EQ(first.done.wait_for(60s), std::future_status::ready);
  absl::StatusOr<llm::GenerateResult> r = first.done.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->usage.generated_tokens, 6);
  EXPECT_TRUE(run(e, greedy("tiny", 4)).ok());  // the slot came back
}

TEST_F(EngineTest, CancellingAQueuedGenerationEndsItAtOnce) {
  metrics::Metrics m;  // its queue gauge shows when the second request is waiting
  EngineOptions o = options(/*max_generations=*/1, /*generate_queue=*/1);
  o.metrics = &m;
  Engine e(o);
  ASSERT_TRUE(e.load_model("tiny", "stories260K.gguf", "").ok());
  BlockedGeneration first(e, greedy("tiny", 4));
  EXPECT_EQ(m.active_streams.Value(), 1);
  CancelToken token;
  auto queued = std::async(std::launch::async, [&] {
    return e.generate(greedy("tiny", 4), token, [](const llm::GenerateChunk&) { return true; });
  });
  for (int i = 0; i < 5000 && m.generate_queue.Value() != 1; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(m.generate_queue.Value(), 1);
  // The queue holds one: a further request is refused at once.
  EXPECT_EQ(run(e, greedy("tiny", 4)).status().code(), absl::StatusCode::kResourceExhausted);
  token.cancel();
  ASSERT_EQ(queued.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(queued.get().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(m.generate_queue.Value(), 0);
  first.release.set_value();
  EXPECT_TRUE(first.done.get().ok());
  EXPECT_EQ(m.active_streams.Value(), 0);
}

TEST_F(EngineTest, CancellingARunningGenerationStopsBeforeTheNextToken) {
  Engine e(options());
  ASSERT_TRUE(e.load_model("tiny", "stories260K.gguf", "").ok());
  CancelToken token;
  int chunks = 0;
  absl::StatusOr<llm::GenerateResult> r = e.generate(greedy("tiny", 200), token, [&](const llm::GenerateChunk&) {
    if (++chunks == 2) token.cancel();
    return true;
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "generation cancelled by the client");
  EXPECT_LE(chunks, 3);
  // A consumer that goes away ends it the same way.
  CancelToken none;
  r = e.generate(greedy("tiny", 200), none, [](const llm::GenerateChunk&) { return false; });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
}

TEST_F(EngineTest, QuantizeRunsAndTheReplyLimitsHold) {
  EngineOptions o = options();
  o.max_message_bytes = 1000;
  o.max_tensor_bytes = 4096;
  o.parallel_min_values = 64;  // the leased path too
  Engine e(o);
  std::vector<float> x(256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
  FloatTensor t{x.data(), 256, {4, 64}, 4};
  quant::QuantSpec spec;
  spec.scheme = quant::Scheme::kQ8_0;
  spec.granularity = quant::Granularity::kPerBlock;
  QuantizeOptions qo;
  qo.restore = true;
  CancelToken none;
  absl::StatusOr<QuantizeResult> q = e.quantize(t, spec, qo, none);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->error.has_value());
  EXPECT_EQ(q->error->count, 256);
  EXPECT_EQ(q->restored.size(), 256u);

  // 256 F32 values are 1024 bytes: over the 1000-byte reply limit; as F16 they fit.
  float* unused = nullptr;
  absl::Status s = e.dequantize(
      q->quantized, 4, [&](int64_t) { return unused; }, none);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "the restored tensor would be 1024 bytes, over the server's message limit of 1000 bytes "
            "(--max_message_bytes)");
  std::vector<float> out;
  EXPECT_TRUE(e.dequantize(
                   q->quantized, 2,
                   [&](int64_t n) {
                     out.resize(n);
                     return out.data();
                   },
                   none)
                  .ok());
  EXPECT_EQ(out, q->restored);

  EXPECT_TRUE(e.check_stream_tensor(1024, 4).ok());
  EXPECT_EQ(e.check_stream_tensor(1025, 4).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace quantd::engine
