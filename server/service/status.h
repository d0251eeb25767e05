// The one conversion from absl::Status (the core's errors) to grpc::Status (the wire).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace quantd::service {

// Both use google.rpc.Code numbering, so the code is carried over as it is. Messages are cut
// at kMaxStatusMessageBytes: a status travels in HTTP/2 trailers, which proxies cap.
inline constexpr size_t kMaxStatusMessageBytes = 1024;
grpc::Status to_grpc_status(const absl::Status& status);

}  // namespace quantd::service
