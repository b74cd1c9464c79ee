#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/fs.h"

namespace nixsnap::testing {

/// A simulated disk with a volatile write cache, as a SQLite VFS over the default one.
/// Every file SQLite opens by name (database, WAL, rollback journal; not the -shm, which
/// the unix VFS maps itself) gets a "durable image": the content as of its last sync.
/// Writes and truncates go to the real file at once (so SQLite reads what it wrote) and
/// are queued as pending; xSync() or syncFile() (what fdatasync does) folds the pending
/// operations into the durable image. powerCut() writes out the durable images, keeping
/// each pending operation only with a given probability (a disk may have written any
/// subset of its cache). Unlinks are treated as durable at once; directory entries are
/// not simulated. While alive it is SQLite's default VFS; not for concurrent instances.
class LossyVfs {
 public:
  LossyVfs();
  ~LossyVfs();
  LossyVfs(const LossyVfs&) = delete;
  LossyVfs& operator=(const LossyVfs&) = delete;

  /// Makes every write to `path` so far durable. @return false if no such file is open.
  bool syncFile(const std::string& path);

  /// Writes the durable image of every tracked file into `dir` (same file names), each
  /// pending operation applied in order with probability `keep_probability`.
  void powerCut(const fs::path& dir, double keep_probability, uint32_t seed);

  /// Number of pending (unsynced) operations over all files.
  size_t pendingOps();

  struct File;  ///< our sqlite3_file (defined in lossy_vfs.cc)

 private:
  struct Op {
    bool truncate = false;
    int64_t offset = 0;  ///< write offset, or the new size for a truncate
    std::string data;
  };
  struct Disk {
    std::string durable;
    std::vector<Op> pending;
  };
  static void apply(std::string& image, const Op& op);
  static int xOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                   int* out_flags);
  static int xDelete(sqlite3_vfs* vfs, const char* name, int sync_dir);
  static int xClose(sqlite3_file* f);
  static int xWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off);
  static int xTruncate(sqlite3_file* f, sqlite3_int64 size);
  static int xSync(sqlite3_file* f, int flags);

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
  std::mutex mu_;
  std::map<std::string, Disk> disks_;
};

}  // namespace nixsnap::testing
