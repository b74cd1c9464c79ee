#pragma once

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::server {

/// Makes `address` ready for a gRPC server to bind: creates its parent directory with mode
/// 0700 when missing, removes a stale socket left by a daemon that died (nobody accepts on
/// it), and refuses to take over a socket another process is serving.
/// @param address absolute path of the unix socket, shorter than sockaddr_un.sun_path.
/// @return Ok; InvalidArgument for a relative or too long path; AlreadyExists when a server
///         accepts connections on it; FailedPrecondition when the path exists and is not a
///         socket (it is never deleted); the errno class of mkdir/unlink otherwise.
Status prepareSocketPath(const fs::path& address);

/// True when something accepts connections on the unix socket at `address`.
bool socketIsServed(const fs::path& address);

}  // namespace nixsnap::server
