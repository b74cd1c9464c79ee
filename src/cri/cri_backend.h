#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "cri/runtime/v1/api.grpc.pb.h"

namespace nixsnap::cri {

/// containerd's CRI endpoints as the image service sees them: the stubs it forwards to.
/// An interface so tests can inject GoogleMock stubs (MockImageServiceStub).
class CriBackend {
 public:
  virtual ~CriBackend() = default;

  /// containerd's CRI ImageService stub. Never null; owned by the backend; thread-safe.
  virtual runtime::v1::ImageService::StubInterface& images() = 0;

  /// containerd's CRI RuntimeService stub (Version, Status). Never null; thread-safe.
  virtual runtime::v1::RuntimeService::StubInterface& runtime() = 0;

  /// The address calls go to, for messages: "unix:///run/containerd/containerd.sock".
  virtual const std::string& address() const = 0;
};
using CriBackendPtr = std::shared_ptr<CriBackend>;

/// containerd's answer unchanged, except UNAVAILABLE, which gets the call and the address:
/// "forwarding <rpc> to containerd CRI at <address>: <message>".
grpc::Status annotateUnavailable(const grpc::Status& status, const char* rpc,
                                 const std::string& address);

/// Turns a socket path into a gRPC target: "/run/x.sock" -> "unix:///run/x.sock"; targets
/// with a scheme ("unix:", "unix-abstract:", "dns:") are kept.
std::string grpcTarget(const std::string& address);

/// A channel to `address` that connects lazily (on the first call), reconnects on its
/// own with backoff of 100 ms growing to 2 s, and never blocks a call while the socket is
/// down (calls fail fast with UNAVAILABLE).
std::shared_ptr<grpc::Channel> makeBackendChannel(const std::string& address);

/// CriBackend over `channel` (see makeBackendChannel).
CriBackendPtr makeGrpcCriBackend(std::shared_ptr<grpc::Channel> channel, std::string address);

}  // namespace nixsnap::cri
