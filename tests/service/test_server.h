// An in-process quantd service on a real loopback port, for integration tests.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "quantd/v1/quantd.grpc.pb.h"
#include "server/service/quantd_service.h"

namespace quantd::testing {

class TestServer {
 public:
  explicit TestServer(engine::EngineOptions options = default_options(),
                      service::ServiceOptions service_options = {})
      : engine_(options), service_(engine_, service_options) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
    builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~TestServer() { server_->Shutdown(); }

  static engine::EngineOptions default_options() {
    engine::EngineOptions o;
    o.threads = 2;
    o.max_message_bytes = 64 << 20;
    o.parallel_min_values = 4096;  // small enough that the tests exercise the gated path too
    return o;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::unique_ptr<v1::Quantd::Stub> stub(int max_message_bytes = 256 << 20) const {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(max_message_bytes);
    args.SetMaxSendMessageSize(max_message_bytes);
    return v1::Quantd::NewStub(grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args));
  }

 private:
  engine::Engine engine_;
  service::QuantdService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace quantd::testing
