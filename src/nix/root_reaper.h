#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::nix {

/// Removes GC root folders off the caller's thread. remove() detaches the folder from Nix
/// at once (detachRootDir: one rename, after which Nix no longer counts its roots) and
/// queues the slow part, thousands of unlinks for a large closure, for one background
/// thread (removeDetachedRootDir). On destruction the thread stops between entries;
/// what is left stays as `.removing-*` folders for a later remove() (Cleanup) to finish.
class RootReaper {
 public:
  RootReaper();
  ~RootReaper();
  RootReaper(const RootReaper&) = delete;
  RootReaper& operator=(const RootReaper&) = delete;

  /// Detaches `dir` (or takes an already detached `.removing-*` folder) and queues it.
  /// @return Ok once Nix no longer counts the roots (a missing `dir` is Ok); the errno
  ///         class of the rename otherwise (nothing queued, roots still in force).
  Status remove(const fs::path& dir);

  /// Blocks until the queue is empty and the thread idle (tests, orderly shutdown).
  void waitIdle();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<fs::path> queue_;  ///< guarded by mu_
  bool busy_ = false;           ///< guarded by mu_
  bool stopping_ = false;       ///< guarded by mu_
  std::thread thread_;          ///< started on first use
};

}  // namespace nixsnap::nix
