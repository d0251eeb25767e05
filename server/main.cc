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
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>

#include "absl/status/status.h"
#include "quantd/kernels/kernels.h"
#include "server/common/flags.h"
#include "server/metrics/interceptor.h"
#include "server/metrics/metrics.h"
#include "server/metrics/process_collector.h"
#include "server/service/quantd_service.h"

namespace {

struct Flags {
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9464";
  std::string model_dir;
  std::vector<std::string> model;
  int max_generations = 4;
  int generate_queue = 16;
  int threads = 0;
  int64_t max_message_bytes = 256ll << 20;
  int64_t max_tensor_bytes = 16ll << 30;
  int grpc_max_threads = 64;
  int shutdown_grace_seconds = 10;
};

Flags parse_flags(int argc, char** argv) {
  Flags f;
  quantd::flags::FlagSet set("quantd",
                             "usage: quantd [flags]\n\n"
                             "Quantization and quantized inference over gRPC (quantd.v1.Quantd, health, reflection).");
  set.add("listen", &f.listen, "gRPC listen address. Use 0.0.0.0:50051 inside a container.", "host:port");
  set.add("metrics_listen", &f.metrics_listen, "Prometheus /metrics HTTP address; empty disables it.", "host:port");
  set.add("model_dir", &f.model_dir,
          "Directory that LoadModel and QuantizeModel paths are relative to (and confined to).", "path");
  set.add_list("model", &f.model,
               "Models to load at start-up, comma-separated NAME=PATH or NAME=PATH:TYPE (TYPE re-quantizes, "
               "e.g. q8_0); may be given more than once. Relative paths are resolved against --model_dir when it "
               "is set (as LoadModel's are), else the working directory; these are not confined to it.");
  set.add("max_generations", &f.max_generations, "Generate streams decoding at once; they share --threads.");
  set.add("generate_queue", &f.generate_queue,
          "Generate requests that may wait for a stream slot; beyond that they fail with RESOURCE_EXHAUSTED.");
  set.add("threads", &f.threads, "OpenMP threads for one large kernel job; 0 = every core.");
  set.add_bytes("max_message_bytes", &f.max_message_bytes,
                "Largest gRPC message accepted or sent (requests above it fail with RESOURCE_EXHAUSTED). "
                "Use QuantizeStream for larger tensors.");
  set.add_bytes("max_tensor_bytes", &f.max_tensor_bytes, "Largest tensor QuantizeStream accepts.");
  set.add("grpc_max_threads", &f.grpc_max_threads,
          "Upper bound on the threads running calls that may block (large tensors, model loads, Generate), "
          "and on gRPC's own request threads.");
  set.add("shutdown_grace_seconds", &f.shutdown_grace_seconds,
          "On SIGTERM/SIGINT: stop accepting, let in-flight calls finish for this long, then cancel them.");
  set.add_environment("QUANTD_ISA",
                      "Forces a kernel level instead of the best one the CPU supports: scalar, avx2, avx512, "
                      "avx512_vnni, neon or neon_dotprod. quantd refuses to start on a level this CPU or build lacks.");
  set.add_environment("OMP_WAIT_POLICY",
                      "passive: idle OpenMP threads sleep at once, for machines shared with other busy processes "
                      "(the container image sets it); active: they spin. Read by libgomp when quantd starts.");
  if (const std::vector<std::string> rest = set.parse_or_exit(argc, argv); !rest.empty()) {
    std::fprintf(stderr, "quantd: unexpected argument '%s' (flags are --name=value; see quantd --help)\n",
                 rest[0].c_str());
    std::exit(2);
  }
  return f;
}

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
  const Flags flags = parse_flags(argc, argv);
  const sigset_t signals = block_shutdown_signals();

  if (std::string err = quantd::kernels::select_kernels(); !err.empty()) {
    std::fprintf(stderr, "quantd: %s\n", err.c_str());
    return 2;
  }
  const int threads = flags.threads > 0 ? flags.threads : omp_get_num_procs();

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
  if (const std::string addr = flags.metrics_listen; !addr.empty()) {
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
  options.model_dir = flags.model_dir;
  options.max_generations = std::max(1, flags.max_generations);
  options.generate_queue = std::max(0, flags.generate_queue);
  options.threads = threads;
  options.max_message_bytes = flags.max_message_bytes;
  options.max_tensor_bytes = flags.max_tensor_bytes;
  quantd::engine::Engine engine(options);
  for (const std::string& spec : flags.model) {
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
  service_options.max_workers = flags.grpc_max_threads;
  quantd::service::QuantdService service(engine, service_options);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(flags.listen, grpc::InsecureServerCredentials(), &port);
  const int max_message = static_cast<int>(std::min<int64_t>(options.max_message_bytes, INT32_MAX));
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  grpc::ResourceQuota quota("quantd");
  quota.SetMaxThreads(flags.grpc_max_threads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<quantd::metrics::RpcMetricsFactory>(
      &metrics, std::set<std::string>{"quantd.v1.Quantd", "grpc.reflection.v1alpha.ServerReflection"}));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "quantd: cannot listen on %s\n", flags.listen.c_str());
    return 1;
  }
  std::fprintf(stderr, "quantd %s: listening on %s (port %d), metrics on %s, kernels %s, %d threads\n",
               QUANTD_VERSION, flags.listen.c_str(), port,
               exposer ? flags.metrics_listen.c_str() : "(off)", isa.c_str(), threads);

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "quantd: signal %d, shutting down\n", sig);
    server->GetHealthCheckService()->Shutdown();  // health checks now answer NOT_SERVING
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(flags.shutdown_grace_seconds));
  });
  server->Wait();
  signal_thread.join();
  std::fprintf(stderr, "quantd: stopped\n");
  return 0;
}
