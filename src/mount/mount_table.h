#pragma once

#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::mount {

/// The kernel's list of this process's mounts.
inline constexpr char kSelfMountInfo[] = "/proc/self/mountinfo";

/// Mount points at `dir` or below it, read from a mountinfo file (proc(5): the 5th field
/// of each line, with the kernel's octal escapes \040 \011 \012 \134 decoded).
/// Used before deleting a snapshot directory: a recursive delete must never descend into
/// a mount (it would delete the mounted filesystem's files).
/// @param dir       absolute; symlinks in it are resolved first (mountinfo has real paths).
/// @param mountinfo the file to read (tests pass their own).
/// @return the mount points in file order; the errno class when `mountinfo` cannot be
///         read; Internal for a line without five fields.
Result<std::vector<fs::path>> mountPointsUnder(const fs::path& dir,
                                               const fs::path& mountinfo = kSelfMountInfo);

}  // namespace nixsnap::mount
