#pragma once

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <vector>

#include "common/fs.h"
#include "common/random.h"
#include "common/status.h"
#include "server/unix_socket.h"

namespace nixsnap::server {

/// A gRPC server listening on one unix socket, serving the services it is given. Exists
/// so the daemon (and tests) get socket preparation, startup errors as Status and a
/// bounded graceful shutdown in one place.
class GrpcServer {
 public:
  /// Largest request accepted: big label sets (thousands of store paths) must fit.
  static constexpr int kMaxReceiveBytes = 64 * 1024 * 1024;

  /// Prepares `address` (see prepareSocketPath) and starts serving `services` on it. The
  /// socket is bound at stagingSocketPath and renamed to `address` once it listens, so
  /// `address` never exists without accepting connections (see publishSocket).
  /// @param address  absolute unix socket path.
  /// @param services not owned; must outlive the server.
  /// @param random   names the staging socket (stagingSocketPath).
  /// @return the running server; the errors of prepareSocketPath and publishSocket;
  ///         Unavailable when gRPC cannot bind.
  static Result<std::unique_ptr<GrpcServer>> start(const fs::path& address,
                                                   const std::vector<grpc::Service*>& services,
                                                   Random& random);

  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  /// Removes the socket file if it is still this server's (new connections then fail
  /// with ENOENT, which containerd's dialer retries), stops accepting new calls, lets
  /// in-flight calls finish for up to `grace`, then cancels the rest. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

  const fs::path& address() const { return address_; }

 private:
  GrpcServer(fs::path address, SocketFile socket, std::unique_ptr<grpc::Server> server);

  fs::path address_;
  SocketFile socket_;
  std::unique_ptr<grpc::Server> server_;
  bool stopped_ = false;
};

}  // namespace nixsnap::server
