#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace nixsnap::rpc {

/// Longest error message sent as is. Messages quote keys, labels and filters from the
/// request (hostile, up to megabytes); gRPC carries the message in a trailer that clients
/// cap (8 KiB by default, percent-encoded, so up to 3 bytes per byte) and would answer
/// RESOURCE_EXHAUSTED instead of the real code.
inline constexpr size_t kMaxMessageBytes = 2048;

/// Maps a Status onto the gRPC code containerd's errgrpc uses for the same errdefs class
/// (InvalidArgument -> INVALID_ARGUMENT, NotFound -> NOT_FOUND, ...). Only for adapters.
/// A message over kMaxMessageBytes keeps its first 1536 and last 256 bytes (Nix's error
/// text comes last) around a marker with the full size.
grpc::Status toGrpc(const Status& status);

/// The inverse of toGrpc; codes without a class map to Unknown.
Status fromGrpc(const grpc::Status& status);

}  // namespace nixsnap::rpc
