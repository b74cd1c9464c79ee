#pragma once

#include <cstdint>
#include <string>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap {

/// Reads a small regular file fully, refusing files larger than `max_bytes` and anything
/// that is not a regular file (a FIFO fails at once, it does not block), both with
/// InvalidArgument. A symlink is refused (ELOOP) unless `follow_symlinks`: archive
/// members and closureInfo files must not point elsewhere; a user's own file (an auth
/// file) may.
/// @return the bytes; InvalidArgument "<path> is <n> bytes, more than the limit of <max>"
///         or "<path> is not a regular file"; the errno class of open/stat; Internal for a
///         short read.
Result<std::string> readSmallFile(const fs::path& path, int64_t max_bytes,
                                  bool follow_symlinks = false);

}  // namespace nixsnap
