#pragma once

#include <memory>

#include "common/fs.h"
#include "common/status.h"
#include "mount/mount.h"

namespace nixsnap::mount {

/// Mounts and unmounts filesystems: the seam between snapshot code that must mount
/// something itself (usage checks, root-gated tests) and the kernel.
class Mounter {
 public:
  virtual ~Mounter() = default;

  /// Mounts `m` (type "bind", "overlay", ...; mount(8)-style options, "ro" and "rbind"
  /// understood for binds) on `target`, which must exist.
  /// @param target absolute directory (or file for a file bind).
  /// @return the errno class of mount(2): PermissionDenied without CAP_SYS_ADMIN,
  ///         NotFound for a missing source/target, InvalidArgument for bad options.
  virtual Status mount(const Mount& m, const fs::path& target) = 0;

  /// Unmounts `target` (not detached, not recursive).
  /// @return the errno class of umount2(2) (InvalidArgument if not a mount point).
  virtual Status unmount(const fs::path& target) = 0;

  /// True when the running kernel lists "overlay" in /proc/filesystems.
  virtual bool supportsOverlay() = 0;
};
using MounterPtr = std::unique_ptr<Mounter>;

}  // namespace nixsnap::mount
