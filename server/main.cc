// quantd: flags, wiring, signals, graceful shutdown.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "quantd/kernels/kernels.h"
#include "server/metrics/interceptor.h"
#include "server/metrics/metrics.h"
#include "server/metrics/process_collector.h"
#include "server/service/quantd_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (host:port). Use 0.0.0.0:50051 inside a container.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Prometheus /metrics HTTP address (host:port); empty disables it.");
ABSL_FLAG(std::string, model_dir, "",
          "Directory that LoadModel and QuantizeModel paths are relative to (and confined to).");
ABSL_FLAG(std::vector<std::string>, model, {},
          "Models to load at start-up, comma-separated NAME=PATH or NAME=PATH:TYPE (TYPE re-quantizes, "
          "e.g. q8_0). Paths here are not confined to --model_dir.");
ABSL_FLAG(int, max_generations, 4, "Generate streams decoding at once; they share --threads.");
ABSL_FLAG(int, generate_queue, 16,
          "Generate requests that may wait for a stream slot; beyond that they fail with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, threads, 0, "OpenMP threads for one large kernel job; 0 = every core.");
ABSL_FLAG(int64_t, max_message_bytes, 256ll << 20,
          "Largest gRPC message accepted or sent, in bytes (requests above it fail with RESOURCE_EXHAUSTED). "
          "Use QuantizeStream for larger tensors.");
ABSL_FLAG(int64_t, max_tensor_bytes, 16ll << 30, "Largest tensor QuantizeStream accepts, in bytes.");
ABSL_FLAG(int, grpc_max_threads, 64, "Upper bound on gRPC's request-handling threads.");
ABSL_FLAG(int, shutdown_grace_seconds, 10,
          "On SIGTERM/SIGINT: stop accepting, let in-flight calls finish for this long, then cancel them.");

namespace {

// Blocks SIGINT and SIGTERM in every thread (call before any thread starts), so that one
// dedicated thread can take them with sigwait and shut the server down cleanly.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("quantd: quantization and quantized inference over gRPC");
  absl::ParseCommandLine(argc, argv);
  const sigset_t signals = block_shutdown_signals();

  if (std::string err = quantd::kernels::select_kernels(); !err.empty()) {
    std::fprintf(stderr, "quantd: %s\n", err.c_str());
    return 2;
  }
  const int threads = absl::GetFlag(FLAGS_threads) > 0 ? absl::GetFlag(FLAGS_threads) : omp_get_num_procs();

  // Metrics first, so every RPC is counted from the start.
  quantd::metrics::Metrics metrics;
  auto process = std::make_shared<quantd::metrics::ProcessCollector>();
  const std::string isa(quantd::kernels::isa_name(quantd::kernels::kernels().isa));
  prometheus::BuildGauge()
      .Name("quantd_build_info")
      .Help("Constant 1, labelled with the version, CPU architecture, kernel ISA and threads")
      .Register(*metrics.registry())
      .Add({{"version", QUANTD_VERSION}, {"arch", QUANTD_ARCH}, {"isa", isa}, {"threads", std::to_string(threads)}})
      .Set(1);
  std::unique_ptr<prometheus::Exposer> exposer;
  if (const std::string addr = absl::GetFlag(FLAGS_metrics_listen); !addr.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(addr);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "quantd: cannot serve metrics on %s: %s\n", addr.c_str(), e.what());
      return 1;
    }
    exposer->RegisterCollectable(metrics.registry());
    exposer->RegisterCollectable(process);
  }

  quantd::engine::EngineOptions options;
  options.metrics = &metrics;
  options.model_dir = absl::GetFlag(FLAGS_model_dir);
  options.max_generations = std::max(1, absl::GetFlag(FLAGS_max_generations));
  options.generate_queue = std::max(0, absl::GetFlag(FLAGS_generate_queue));
  options.threads = threads;
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_tensor_bytes = absl::GetFlag(FLAGS_max_tensor_bytes);
  quantd::engine::Engine engine(options);
  for (const std::string& spec : absl::GetFlag(FLAGS_model)) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "quantd: --model %s: expected NAME=PATH or NAME=PATH:TYPE\n", spec.c_str());
      return 2;
    }
    std::string path = spec.substr(eq + 1), type;
    if (const size_t colon = path.rfind(':'); colon != std::string::npos) {
      type = path.substr(colon + 1);
      path = path.substr(0, colon);
    }
    absl::StatusOr<quantd::engine::ModelSummary> loaded = engine.load_startup_model(spec.substr(0, eq), path, type);
    if (!loaded.ok()) {
      std::fprintf(stderr, "quantd: --model %s: %s\n", spec.c_str(), loaded.status().ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "quantd: loaded model %s from %s\n", spec.substr(0, eq).c_str(), path.c_str());
  }
  quantd::service::ServiceOptions service_options;
  service_options.max_workers = absl::GetFlag(FLAGS_grpc_max_threads);
  quantd::service::QuantdService service(engine, service_options);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  const int max_message = static_cast<int>(std::min<int64_t>(options.max_message_bytes, INT32_MAX));
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  grpc::ResourceQuota quota("quantd");
  quota.SetMaxThreads(absl::GetFlag(FLAGS_grpc_max_threads));
  builder.SetResourceQuota(quota);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<quantd::metrics::RpcMetricsFactory>(
      &metrics, std::set<std::string>{"quantd.v1.Quantd", "grpc.reflection.v1alpha.ServerReflection"}));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "quantd: cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::fprintf(stderr, "quantd %s: listening on %s (port %d), metrics on %s, kernels %s, %d threads\n",
               QUANTD_VERSION, absl::GetFlag(FLAGS_listen).c_str(), port,
               exposer ? absl::GetFlag(FLAGS_metrics_listen).c_str() : "(off)", isa.c_str(), threads);

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "quantd: signal %d, shutting down\n", sig);
    server->GetHealthCheckService()->Shutdown();  // health checks now answer NOT_SERVING
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  });
  server->Wait();
  signal_thread.join();
  std::fprintf(stderr, "quantd: stopped\n");
  return 0;
}
