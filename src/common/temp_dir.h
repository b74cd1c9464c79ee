#pragma once

#include <string_view>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap {

/// Where this process keeps scratch space: $TMPDIR when set and not empty, else /tmp.
/// The one place TMPDIR is read; composition roots (cmd/) pass the result to components,
/// whose own fallback for an unset scratch directory is this too.
fs::path tempDirFromEnvironment();

/// A directory created with mkdtemp and removed recursively on destruction unless
/// keep() was called (like buildbox's setAutoRemove(false)). Only for directories that
/// never hold mounts: removal is recursive.
class TempDir {
 public:
  /// Creates `<parent>/<prefix>XXXXXX` with mode 0700.
  /// @return the directory; the errno class of mkdtemp on failure.
  static Result<TempDir> create(const fs::path& parent, std::string_view prefix);

  TempDir(TempDir&& o) noexcept;
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const fs::path& path() const { return path_; }
  /// Hands ownership of the directory to the caller; it is no longer removed.
  fs::path keep();

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  void removeNow() noexcept;
  fs::path path_;
};

}  // namespace nixsnap
