#pragma once

#include "common/fs.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace nixsnap::server {

/// Name of the lock file inside the daemon's root.
inline constexpr const char* kRootLockName = "daemon.lock";

/// Takes an exclusive, non-blocking flock on `<root>/daemon.lock`, creating `root` (0700)
/// and the file when missing, so two daemons never share one root, even on different
/// sockets. The lock lives as long as the returned descriptor (and dies with the process).
/// @param root absolute path of the daemon's state directory.
/// @return the locked descriptor; AlreadyExists when another process holds the lock; the
///         errno class of mkdir/open/flock otherwise.
Result<UniqueFd> lockRoot(const fs::path& root);

}  // namespace nixsnap::server
