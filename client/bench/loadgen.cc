// quantd-loadgen: Quantize throughput against a bare gRPC echo of the same payload, and
// Quantize latency percentiles under concurrent clients, over 127.0.0.1.
//
//   quantd-loadgen echo-server --listen=127.0.0.1:50052
//   quantd-loadgen throughput --server=127.0.0.1:50051 --echo=127.0.0.1:50052 [--sizes-mib=1,16,64]
//   quantd-loadgen latency --server=127.0.0.1:50051 [--clients=1,4,16] [--seconds=3] [--kib=16]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/echo.grpc.pb.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "server/common/flags.h"

namespace quantd::client {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxMessage = 1 << 30;

// The command line (see main).
struct Options {
  std::string listen = "127.0.0.1:50052";
  std::string server = "127.0.0.1:50051";
  std::string echo = "127.0.0.1:50052";
  int iters = 5;
  std::vector<std::string> sizes_mib = {"1", "16", "64"};
  std::vector<std::string> clients = {"1", "4", "16"};
  double seconds = 3;
  int64_t kib = 16;
};

class EchoService final : public bench::v1::Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const v1::Tensor* request, v1::Tensor* reply) override {
    *reply = *request;
    return grpc::Status::OK;
  }
};

std::shared_ptr<grpc::Channel> channel(const std::string& target) {
  grpc::ChannelArguments a;
  a.SetMaxReceiveMessageSize(kMaxMessage);
  a.SetMaxSendMessageSize(kMaxMessage);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), a);
}

v1::Tensor random_tensor(int64_t values) {
  std::vector<float> x(values);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  v1::Tensor t;
  t.set_dtype(v1::DTYPE_F32);
  t.add_shape(values / 4096);
  t.add_shape(4096);
  t.set_data(std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
  return t;
}

std::vector<int64_t> int_list(const std::vector<std::string>& items) {
  std::vector<int64_t> out;
  for (const std::string& p : items) {
    int64_t v;
    if (absl::SimpleAtoi(p, &v)) out.push_back(v);
  }
  return out;
}

// Best-of-N wall time of f (seconds): the least disturbed run on a shared machine.
template <typename F>
double best_seconds(int iters, F f) {
  double best = 1e30;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    if (!f()) return -1;
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

int echo_server(const Options& args) {
  EchoService service;
  grpc::ServerBuilder b;
  b.AddListeningPort(args.listen, grpc::InsecureServerCredentials());
  b.SetMaxReceiveMessageSize(kMaxMessage);
  b.SetMaxSendMessageSize(kMaxMessage);
  b.RegisterService(&service);
  auto server = b.BuildAndStart();
  if (!server) return 1;
  std::fprintf(stderr, "echo server on %s\n", args.listen.c_str());
  server->Wait();
  return 0;
}

bool quantize_stream(v1::Quantd::Stub& stub, const v1::QuantizeRequest& request) {
  grpc::ClientContext ctx;
  auto s = stub.QuantizeStream(&ctx);
  v1::QuantizeStreamRequest m;
  *m.mutable_header()->mutable_config() = request.config();
  *m.mutable_header()->mutable_tensor()->mutable_shape() = request.tensor().shape();
  m.mutable_header()->mutable_tensor()->set_dtype(request.tensor().dtype());
  s->Write(m);
  const std::string& data = request.tensor().data();
  constexpr size_t kChunk = 4 << 20;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    m.set_data_chunk(data.substr(off, kChunk));
    s->Write(m);
  }
  s->WritesDone();
  v1::QuantizeStreamResponse r;
  while (s->Read(&r)) {
  }
  return s->Finish().ok();
}

int throughput(const Options& args) {
  auto quantd = v1::Quantd::NewStub(channel(args.server));
  auto echo = bench::v1::Echo::NewStub(channel(args.echo));
  const int iters = args.iters;
  std::printf("| tensor | echo GB/s | Q8_0 GB/s (ratio) | Q4_0 GB/s (ratio) | Q8_0 stream GB/s (ratio) | Q4_0 stream GB/s (ratio) |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (int64_t mib : int_list(args.sizes_mib)) {
    v1::QuantizeRequest request;
    *request.mutable_tensor() = random_tensor(mib * (1 << 20) / 4);
    const double bytes = static_cast<double>(request.tensor().data().size());
    const double echo_s = best_seconds(iters, [&] {
      grpc::ClientContext ctx;
      v1::Tensor reply;
      return echo->Echo(&ctx, request.tensor(), &reply).ok();
    });
    double unary[2], streamed[2];
    const v1::Scheme schemes[2] = {v1::SCHEME_Q8_0, v1::SCHEME_Q4_0};
    for (int i = 0; i < 2; ++i) {
      request.mutable_config()->set_scheme(schemes[i]);
      unary[i] = best_seconds(iters, [&] {
        grpc::ClientContext ctx;
        v1::QuantizeResponse reply;
        grpc::Status st = quantd->Quantize(&ctx, request, &reply);
        if (!st.ok()) std::fprintf(stderr, "Quantize: %s\n", st.error_message().c_str());
        return st.ok();
      });
      streamed[i] = best_seconds(iters, [&] { return quantize_stream(*quantd, request); });
    }
    auto gbs = [&](double s) { return bytes / s / 1e9; };
    std::printf("| %lld MiB | %.2f | %.2f (%.2fx) | %.2f (%.2fx) | %.2f (%.2fx) | %.2f (%.2fx) |\n",
                static_cast<long long>(mib), gbs(echo_s), gbs(unary[0]), echo_s / unary[0], gbs(unary[1]),
                echo_s / unary[1], gbs(streamed[0]), echo_s / streamed[0], gbs(streamed[1]), echo_s / streamed[1]);
    std::fflush(stdout);
  }
  return 0;
}

int latency(const Options& args) {
  const std::string target = args.server;
  const double seconds = args.seconds;
  const int64_t kib = args.kib;
  v1::QuantizeRequest request;
  std::vector<float> x(kib * 256);
  std::mt19937 rng(2);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  request.mutable_tensor()->set_dtype(v1::DTYPE_F32);
  request.mutable_tensor()->add_shape(static_cast<int64_t>(x.size()) / 256);
  request.mutable_tensor()->add_shape(256);
  request.mutable_tensor()->set_data(std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
  request.mutable_config()->set_scheme(v1::SCHEME_Q8_0);
  std::printf("| clients | calls/s | p50 ms | p90 ms | p99 ms |\n|---|---|---|---|---|\n");
  for (int64_t clients : int_list(args.clients)) {
    std::vector<std::vector<double>> lat(clients);
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    for (int64_t c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        auto stub = v1::Quantd::NewStub(channel(target));  // a channel (connection) per client
        while (Clock::now() < end) {
          grpc::ClientContext ctx;
          v1::QuantizeResponse reply;
          const auto t0 = Clock::now();
          if (!stub->Quantize(&ctx, request, &reply).ok()) failed = true;
          lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      });
    }
    for (auto& t : threads) t.join();
    std::vector<double> all;
    for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
    std::printf("| %lld | %.0f | %.3f | %.3f | %.3f |%s\n", static_cast<long long>(clients), all.size() / seconds,
                pct(0.5), pct(0.9), pct(0.99), failed ? " (some calls failed)" : "");
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace quantd::client

int main(int argc, char** argv) {
  quantd::client::Options args;
  quantd::flags::FlagSet set("quantd-loadgen",
                             "usage: quantd-loadgen echo-server|throughput|latency [flags]\n\n"
                             "  echo-server  a bare gRPC echo of a Tensor: the baseline (--listen)\n"
                             "  throughput   Quantize and QuantizeStream GB/s against the echo (--server, --echo, "
                             "--sizes-mib, --iters)\n"
                             "  latency      Quantize latency percentiles under concurrent clients (--server, "
                             "--clients, --seconds, --kib)");
  set.add("listen", &args.listen, "echo-server: the address to serve on.", "host:port");
  set.add("server", &args.server, "The quantd to measure.", "host:port");
  set.add("echo", &args.echo, "throughput: the echo-server to compare with.", "host:port");
  set.add("iters", &args.iters, "throughput: runs per measurement; the best counts.");
  set.add_list("sizes-mib", &args.sizes_mib, "throughput: tensor sizes, in MiB of float32.");
  set.add_list("clients", &args.clients, "latency: concurrent client counts to try.");
  set.add("seconds", &args.seconds, "latency: how long each client count runs.");
  set.add("kib", &args.kib, "latency: the tensor size, in KiB of float32.");
  const std::vector<std::string> positional = set.parse_or_exit(argc, argv);
  const std::string mode = positional.size() == 1 ? positional[0] : "";
  if (mode == "echo-server") return quantd::client::echo_server(args);
  if (mode == "throughput") return quantd::client::throughput(args);
  if (mode == "latency") return quantd::client::latency(args);
  std::fprintf(stderr, "quantd-loadgen: expected one mode: echo-server, throughput or latency (see --help)\n");
  return 2;
}
