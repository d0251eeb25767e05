// The engine: everything quantd does, behind plain C++ types and absl::Status, with no gRPC or
// protobuf in sight. It owns the model store and the two admissions (the compute lease of large
// tensor jobs and the Generate slots), and holds every policy the RPC handlers used to: which
// jobs take the lease and how many threads they get, reply-size limits, the QuantizeModel
// sequence, path confinement, domain metrics. Handlers in server/service/ convert a message to
// these types, call one method, and convert the result and status back.
//
// Calls block (waiting for admission, computing); the transport runs them off its I/O threads.
// Thread-safe: any method may be called from any thread at any time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/engine/admission.h"
#include "server/engine/cancel.h"
#include "server/engine/model_store.h"
#include "server/engine/types.h"
#include "server/llm/generate.h"
#include "server/metrics/metrics.h"
#include "server/quant/quantize.h"

namespace quantd::engine {

struct EngineOptions {
  int threads = 1;                          // OpenMP threads of one large job
  int64_t parallel_min_values = 1 << 18;    // smaller tensors run single-threaded, without the lease
  int64_t max_message_bytes = 256ll << 20;  // largest reply (Dequantize's restored tensor)
  int64_t max_tensor_bytes = 16ll << 30;    // largest streamed tensor
  std::string model_dir;                    // LoadModel/QuantizeModel paths are confined to it
  int max_generations = 4;                  // Generate streams decoding at once
  int generate_queue = 16;                  // Generate requests waiting beyond those
  metrics::Metrics* metrics = nullptr;      // domain metrics; none when null (tests)
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options);

  const EngineOptions& options() const { return options_; }

  // --- Tensors ---
  // True when a job of this many values may wait for the compute lease (the transport then
  // runs it on a thread of its own rather than inline).
  bool may_wait(int64_t values) const { return values >= options_.parallel_min_values; }

  absl::StatusOr<QuantizeResult> quantize(const FloatTensor& x, const quant::QuantSpec& spec,
                                          const QuantizeOptions& options, const CancelToken& cancel);
  // Restores q into the buffer out(count) returns, after checking the reply of
  // count * reply_bytes_per_value bytes fits the message limit (RESOURCE_EXHAUSTED otherwise).
  absl::Status dequantize(const quant::QuantizedTensor& q, int reply_bytes_per_value,
                          const std::function<float*(int64_t count)>& out, const CancelToken& cancel);
  // A streamed tensor's size against --max_tensor_bytes, before its bytes are accepted.
  absl::Status check_stream_tensor(int64_t values, int bytes_per_value) const;

  // --- Models ---
  // path is relative to model_dir (confined to it); errors name it as the client did. A
  // re-quantizing load (target_type set) is a parallel kernel job: it waits for the lease.
  absl::StatusOr<ModelSummary> load_model(const std::string& name, const std::string& path,
                                          const std::string& target_type,
                                          const CancelToken& cancel = CancelToken::never());
  // A model named on the command line: path relative to model_dir when one is set (like
  // LoadModel's), else to the working directory; trusted, so not confined.
  absl::StatusOr<ModelSummary> load_startup_model(const std::string& name, const std::string& path,
                                                  const std::string& target_type);
  absl::Status unload_model(const std::string& name);
  std::vector<ModelSummary> list_models() const;
  absl::StatusOr<ModelDetails> model_info(const std::string& name) const;
  absl::StatusOr<QuantizeModelOutcome> quantize_model(const QuantizeModelRequest& request, const CancelToken& cancel);
  ServerStatus server_status() const;

  // --- Generation ---
  // Validates, waits for a stream slot, then streams chunks to emit (false from emit: the
  // consumer is gone). CANCELLED / DEADLINE_EXCEEDED when the token fires while running.
  absl::StatusOr<llm::GenerateResult> generate(const GenerateRequest& request, const CancelToken& cancel,
                                               const std::function<bool(const llm::GenerateChunk&)>& emit);

 private:
  absl::StatusOr<ModelSummary> load_resolved(const std::string& name, const std::string& path,
                                             const std::string& target_type, const CancelToken& cancel);
  absl::Status add(ModelStore::Reservation reservation, std::shared_ptr<const model::Model> m);
  ModelSummary summarize(const model::Model& m) const;

  const EngineOptions options_;
  ModelStore models_;
  Admission compute_;
  Admission generations_;
};

}  // namespace quantd::engine
