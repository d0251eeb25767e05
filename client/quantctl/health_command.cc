// quantctl health: the standard grpc.health.v1 check.
#include <cstdio>

#include "client/quantctl/commands.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace quantd::client {

int cmd_health(const Args& args) {
  auto stub = grpc::health::v1::Health::NewStub(connect(args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(args.get("service"));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return report("health", status);
  std::printf("%s\n", grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()).c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

}  // namespace quantd::client
