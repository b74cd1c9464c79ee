#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace nixsnap::rpc {

/// Maps a Status onto the gRPC code containerd's errgrpc uses for the same errdefs class
/// (InvalidArgument -> INVALID_ARGUMENT, NotFound -> NOT_FOUND, ...). Only for adapters.
grpc::Status toGrpc(const Status& status);

/// The inverse of toGrpc; codes without a class map to Unknown.
Status fromGrpc(const grpc::Status& status);

}  // namespace nixsnap::rpc
