#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/fs.h"
#include "common/status.h"
#include "common/temp_dir.h"

namespace nixsnap::snapshotter {

/// Ready-made snapshot directories, so Prepare and View do not spend three mkdir(2)
/// calls (a few hundred µs each on a busy ext4) inside their request: a background
/// thread keeps up to `depth` directories of each shape in `<dir>/XXXXXX`:
///   with work: `fs` (0755) and `work` (0711), for Prepare;
///   without:   `fs` (0755), for View.
/// The directory itself is 0700, as mkdtemp makes it. `dir` must be on the same
/// filesystem as the snapshots (take()'s result is renamed into place). Leftovers of an
/// earlier run are deleted at construction (they are empty directories nobody owns).
class DirPool {
 public:
  /// @param depth ready directories kept per shape; 0 disables the thread (take() builds).
  DirPool(fs::path dir, size_t depth);
  ~DirPool();
  DirPool(const DirPool&) = delete;
  DirPool& operator=(const DirPool&) = delete;

  /// A fresh directory of the given shape, owned by the caller (removed unless kept).
  /// Built on the caller's thread when none is ready.
  /// @return the errno class of mkdtemp/mkdir when it has to be built and cannot be.
  Result<TempDir> take(bool with_work);

  /// Builds one directory of the given shape in `dir` (what the thread does).
  static Result<TempDir> build(const fs::path& dir, bool with_work);

 private:
  void run();
  bool wantsMore() const;  ///< mu_ held

  fs::path dir_;
  size_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TempDir> ready_[2];  ///< [with_work]; guarded by mu_
  bool stopping_ = false;         ///< guarded by mu_
  std::thread thread_;
};

}  // namespace nixsnap::snapshotter
