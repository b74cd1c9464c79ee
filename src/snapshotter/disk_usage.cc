#include "snapshotter/disk_usage.h"

#include <fts.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <utility>

namespace nixsnap::snapshotter {

Result<Usage> diskUsage(const fs::path& dir) {
  struct stat root_st {};
  if (::lstat(dir.c_str(), &root_st) != 0) {
    return errnoStatus(errno, "measuring disk usage of \"" + dir.string() + "\"");
  }
  std::string root = dir.string();
  char* argv[] = {root.data(), nullptr};
  // fts(3) keeps its state in the handle: concurrent walks need no shared lock.
  FTS* fts = ::fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, nullptr);
  if (fts == nullptr) {
    return errnoStatus(errno, "measuring disk usage of \"" + root + "\"");
  }
  std::set<std::pair<dev_t, ino_t>> seen;
  Usage usage;
  while (FTSENT* e = ::fts_read(fts)) {
    if (e->fts_info == FTS_DP || e->fts_info == FTS_NS || e->fts_info == FTS_NSOK ||
        e->fts_statp == nullptr) {
      continue;  // post-order visit of a directory, or no stat data
    }
    const struct stat* st = e->fts_statp;
    if (seen.emplace(st->st_dev, st->st_ino).second) {
      usage.inodes += 1;
      usage.size_bytes += static_cast<int64_t>(st->st_blocks) * 512;
    }
  }
  int err = errno;
  ::fts_close(fts);
  if (err != 0) {
    return errnoStatus(err, "measuring disk usage of \"" + root + "\"");
  }
  return usage;
}

}  // namespace nixsnap::snapshotter
