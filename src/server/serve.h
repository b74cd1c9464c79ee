#pragma once

#include <grpcpp/impl/service_type.h>

#include <chrono>
#include <functional>
#include <vector>

#include "common/fs.h"
#include "common/random.h"
#include "common/status.h"
#include "server/notifier.h"

namespace nixsnap::server {

/// How long in-flight calls may run after a stop request before they are cancelled.
inline constexpr std::chrono::seconds kDefaultShutdownGrace{10};
/// After the grace period, child processes of calls still running (nix-store, external
/// builders) get SIGTERM, and SIGKILL this much later.
inline constexpr std::chrono::seconds kChildKillAfter{3};

/// Serves `services` on `address` until `wait_for_stop` returns, then shuts down
/// gracefully. Tells `notifier` "READY=1" once the socket accepts calls and "STOPPING=1"
/// when the stop begins.
/// @param address       absolute unix socket path (see prepareSocketPath).
/// @param services      not owned; live for the whole call.
/// @param random        names the socket's staging file (stagingSocketPath).
/// @param wait_for_stop blocks until the daemon must stop; returns the signal number (or
///                      any code) for the log.
/// @param grace         in-flight calls get this long to finish; then they are cancelled
///                      and their child processes stopped (terminateRunningProcesses).
/// @return Ok after a clean stop; the errors of GrpcServer::start.
Status serve(const fs::path& address, const std::vector<grpc::Service*>& services,
             Notifier& notifier, Random& random, const std::function<int()>& wait_for_stop,
             std::chrono::milliseconds grace = kDefaultShutdownGrace);

}  // namespace nixsnap::server
