#pragma once

#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::snapshotter {

/// Makes the mountpoints of a snapshot's store-path binds match what is mounted on them.
///
/// A bind `{source P, target P}` needs, inside the merged rootfs, a directory at P when P
/// (followed if it is a symlink) is a directory, and a file otherwise. Images of other
/// builders may lack the mountpoint (containerd fails with "no such file or directory",
/// the original's #101) or have the wrong type ("not a directory", #183; a store path
/// that is a symlink to a directory got an empty file). A mountpoint that is a symlink
/// would even redirect the mount. So before an active snapshot is handed out, every target
/// is looked up in the layers the way overlayfs merges them (nearest first; whiteouts,
/// opaque directories and non-directories hide what is below), and each missing or
/// mismatched one is created in the snapshot's own writable layer: the right type there
/// hides whatever the layers below have (overlayfs merges only directory with directory).
/// Directories created on the way to the store dir copy mode and owner from the layer below
/// that has them (as a copy-up would), else 0755; new mountpoints are 0755 directories or
/// 0444 empty files, owned like `upper`.
///
/// @param store_dir absolute store dir; each target is `<store_dir>/<name>`.
/// @param upper     the writable layer that is mounted on top (an active snapshot's
///                  `snapshots/<id>/fs`, or a parentless view's own `fs`); empty when there
///                  is none (a view of committed layers): then nothing can be created.
/// @param lowers    the parent layers' `fs` directories, nearest first.
/// @param targets   absolute store paths, each existing (validated before).
/// @return Ok; FailedPrecondition naming the first target whose mountpoint does not
///         match when `upper` is empty; the errno class naming the path when creating
///         fails. Source: overlayfs lookup rules (Documentation/filesystems/overlayfs.rst).
Status ensureMountpoints(const fs::path& store_dir, const fs::path& upper,
                         const std::vector<fs::path>& lowers, const std::vector<fs::path>& targets);

}  // namespace nixsnap::snapshotter
