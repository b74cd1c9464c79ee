#pragma once

#include <sys/types.h>

#include "common/fs.h"
#include "common/random.h"
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

/// Where a server binds before publishSocket moves its socket to `address`: a hidden
/// name `.<pid>-<8 random hex>.sock.new` in the same directory, or `address` itself when
/// that name would not fit in sockaddr_un.sun_path.
/// @param address absolute socket path that passed prepareSocketPath.
/// @param random  source of the hex part (makeSystemRandom() in the daemon).
fs::path stagingSocketPath(const fs::path& address, Random& random);

/// Identity of a socket file this process published.
struct SocketFile {
  dev_t dev = 0;
  ino_t ino = 0;
};

/// Gives the listening socket bound at `staging` the name `address` (link(2), then
/// unlink of `staging`), so the name appears already accepting connections. Between
/// bind(2) and listen(2) a socket file exists that refuses connections (ECONNREFUSED); a
/// client polling for the file, as containerd does for a proxy plugin, would take that
/// as a failed dial and back off for seconds. Only checks identity when
/// `staging == address`.
/// @return the socket's identity, for removeSocket; AlreadyExists when `address` was
///         created by someone else since prepareSocketPath (never replaced); the errno
///         class otherwise. `staging` is removed in every case.
Result<SocketFile> publishSocket(const fs::path& staging, const fs::path& address);

/// Unlinks `address` if it is still the socket `ours` (a daemon that lost a start race,
/// or was replaced, must not delete the socket of the one serving). Call it while the
/// socket is still open: the inode number of a closed one may be reused.
void removeSocket(const fs::path& address, const SocketFile& ours);

}  // namespace nixsnap::server
