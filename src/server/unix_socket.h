#pragma once

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::server {

/// Makes `address` ready for a gRPC server to bind: creates its parent directory with mode
/// 0700 when missing, removes a stale socket left by a daemon that died (nobody accepts on
/// it) and stale staging sockets (stagingSocketPath) beside it, and refuses to take over
/// a socket another process is serving.
/// @param address absolute path of the unix socket, shorter than sockaddr_un.sun_path.
/// @return Ok; InvalidArgument for a relative or too long path; AlreadyExists when a server
///         accepts connections on it; FailedPrecondition when the path exists and is not a
///         socket (it is never deleted); the errno class of mkdir/unlink otherwise.
Status prepareSocketPath(const fs::path& address);

/// True when something accepts connections on the unix socket at `address`.
bool socketIsServed(const fs::path& address);

/// Where a server binds before publishSocket moves its socket to `address`: a hidden,
/// per-process name in the same directory (rename needs one filesystem), or `address`
/// itself when that name would not fit in sockaddr_un.sun_path.
/// @param address absolute socket path that passed prepareSocketPath.
fs::path stagingSocketPath(const fs::path& address);

/// Moves the listening socket bound at `staging` to `address` with rename(2), so the
/// name appears already accepting connections. Between bind(2) and listen(2) a socket
/// file exists that refuses connections (ECONNREFUSED); a client polling for the file,
/// as containerd does for a proxy plugin, would take that as a failed dial and back off
/// for seconds. No-op when `staging == address`.
/// @return Ok; the errno class of rename otherwise (`staging` is then removed).
Status publishSocket(const fs::path& staging, const fs::path& address);

}  // namespace nixsnap::server
