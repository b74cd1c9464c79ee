#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/fs.h"
#include "common/status.h"
#include "config/config.h"

namespace nixsnap::server {

/// What the rootless checks need from the host, behind an interface so the decision is
/// unit-tested with a double (tests/unit/server/rootless_mode_test.cc).
class HostProbe {
 public:
  virtual ~HostProbe() = default;
  /// True inside a user namespace (uid_map is not the identity map of every id).
  virtual bool inUserNamespace() = 0;
  virtual uid_t effectiveUid() = 0;
  /// Ok when `dir` (or, if missing, its nearest existing ancestor) is a directory this
  /// process owns and may write; the reason otherwise.
  virtual Status ownedWritableDir(const fs::path& dir) = 0;
  /// Ok when `dir` is a directory this process may read and search.
  virtual Status readableDir(const fs::path& dir) = 0;
  /// Ok when `socket` is a unix socket this process may connect to (write permission).
  virtual Status connectableSocket(const fs::path& socket) = 0;
  /// Mounts a kernel overlayfs with `userxattr` in a scratch folder under `scratch_parent`
  /// (unmounted and removed again); the mount(2) error otherwise.
  virtual Status overlayWithUserxattr(const fs::path& scratch_parent) = 0;
  /// Ok when /dev/fuse is usable and `fuse-overlayfs` is on PATH.
  virtual Status fuseOverlayfsUsable() = 0;
};

/// The real host (/proc/self/uid_map, access(2), mount(2)).
std::unique_ptr<HostProbe> makeHostProbe();

/// How snapshots get mounted, and why.
struct MountMode {
  bool rootless = false;        ///< in a user namespace or not uid 0
  bool fuse_overlayfs = false;  ///< mount type fuse3.fuse-overlayfs
  bool userxattr = false;       ///< kernel overlayfs with the `userxattr` option
  std::string reason;           ///< one sentence for the log
};

/// The Nix daemon socket Nix's clients use under `nix_remote` (the NIX_REMOTE value):
/// "unix://P" gives P; "", "auto" and "daemon" give `<nix_state_dir>/daemon-socket/socket`;
/// anything else (e.g. "local", "ssh://...") gives an empty path.
fs::path nixDaemonSocket(const std::string& nix_remote, const fs::path& nix_state_dir);

/// Rootless mode (user namespace or non-zero euid): refuses a root the user does not own
/// or cannot write, a store it cannot read, and a Nix daemon socket it cannot connect to
/// (an unprivileged user realises and registers GC roots through the daemon; NIX_REMOTE
/// naming the local store is refused too), each with FailedPrecondition naming the path;
/// then picks kernel overlayfs with `userxattr` when a probe mount works, fuse-overlayfs
/// otherwise (or when the config forces it). Not rootless: the config's choice, as is.
/// @param nix_remote the NIX_REMOTE environment value ("" when unset).
Result<MountMode> chooseMountMode(HostProbe& probe, const config::Config& config,
                                  const fs::path& nix_state_dir, const std::string& nix_remote);

}  // namespace nixsnap::server
