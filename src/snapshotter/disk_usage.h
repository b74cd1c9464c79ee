#pragma once

#include "common/fs.h"
#include "common/status.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// Measures a directory tree the way containerd's fs.DiskUsage does: every distinct
/// inode (the directory itself included) once, size = allocated blocks * 512 bytes.
/// Symlinks are not followed.
/// @return the usage; NotFound for a missing `dir`; the errno class of other failures.
Result<Usage> diskUsage(const fs::path& dir);

}  // namespace nixsnap::snapshotter
