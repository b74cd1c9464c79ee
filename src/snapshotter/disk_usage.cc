#include "snapshotter/disk_usage.h"

#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

namespace nixsnap::snapshotter {

namespace {

// nftw has no user pointer: the walk state lives here, one walk at a time.
std::mutex g_walk_mu;
std::set<std::pair<dev_t, ino_t>>* g_seen = nullptr;
Usage* g_usage = nullptr;

int visit(const char* /*path*/, const struct stat* st, int type, struct FTW* /*ftw*/) {
  if (type == FTW_NS) {
    return 0;
  }
  if (g_seen->emplace(st->st_dev, st->st_ino).second) {
    g_usage->inodes += 1;
    g_usage->size_bytes += static_cast<int64_t>(st->st_blocks) * 512;
  }
  return 0;
}

}  // namespace

Result<Usage> diskUsage(const fs::path& dir) {
  std::lock_guard<std::mutex> lock(g_walk_mu);
  std::set<std::pair<dev_t, ino_t>> seen;
  Usage usage;
  g_seen = &seen;
  g_usage = &usage;
  int rc = ::nftw(dir.c_str(), visit, 64, FTW_PHYS | FTW_MOUNT);
  int err = errno;
  g_seen = nullptr;
  g_usage = nullptr;
  if (rc != 0) {
    return errnoStatus(err, "measuring disk usage of \"" + dir.string() + "\"");
  }
  return usage;
}

}  // namespace nixsnap::snapshotter
