#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "common/fs.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace nixsnap::metadata {

/// Makes the WAL durable: one call flushes every byte written to it so far.
/// Called by at most one thread at a time (GroupSync's leader).
using WalSyncFn = std::function<Status()>;

/// Group commit for a WAL database whose writer runs with synchronous=NORMAL (COMMIT
/// appends frames to the WAL but does not sync them). Each committer takes a ticket right
/// after its COMMIT returned and then waits until a sync that *started after* its ticket
/// was taken has finished. One waiter at a time (the leader) runs the sync; commits that
/// arrive while it runs are covered by the next sync, which one of them then leads. So N
/// concurrent committers share O(1) syncs instead of paying one each, and no committer
/// returns before its frames are on stable storage.
///
/// A failed sync is sticky: every later waitDurable() returns it, because after a failed
/// fdatasync the kernel may have dropped the dirty pages (no later sync can prove them
/// durable). Thread-safe.
class GroupSync {
 public:
  explicit GroupSync(WalSyncFn sync);

  /// Registers a commit whose WAL frames have been written (its COMMIT returned); call
  /// it while still holding the writer lock so that tickets follow commit order.
  /// @return the commit's ticket for waitDurable().
  uint64_t noteCommitted();

  /// The last ticket handed out (0 before any): what a transaction that wrote nothing
  /// waits for, so that nothing it read can be lost after it returned.
  uint64_t lastTicket();

  /// Blocks until a sync covering `ticket` has finished (leading one if none is running).
  /// @return Ok; Internal if that sync, or any earlier one, failed.
  Status waitDurable(uint64_t ticket);

 private:
  WalSyncFn sync_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t written_ = 0;  ///< last ticket handed out
  uint64_t synced_ = 0;   ///< every ticket <= synced_ is durable
  bool syncing_ = false;  ///< a leader is inside sync_()
  Status failure_;        ///< first sync failure (sticky)
};

/// The production WalSyncFn: fdatasync of `<db_path>-wal` through a descriptor of our
/// own (fdatasync flushes the inode, whichever descriptor names it). The file is opened
/// lazily and reopened if SQLite ever unlinked it (st_nlink == 0); each (re)open also
/// fsyncs the directory so that the WAL's directory entry is durable, as SQLite does on
/// the first sync of a new WAL. Not thread-safe (GroupSync calls it from one leader).
class WalFile {
 public:
  explicit WalFile(fs::path db_path);

  /// @return Ok; the errno class of open/fsync/fdatasync failures, naming the path.
  Status sync();

 private:
  Status open();

  fs::path wal_path_;
  UniqueFd fd_;
};

}  // namespace nixsnap::metadata
