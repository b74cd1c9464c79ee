#include "snapshotter/dir_pool.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "common/log.h"

namespace nixsnap::snapshotter {

namespace {

Status makeDir(const fs::path& p, mode_t mode) {
  if (::mkdir(p.c_str(), mode) != 0) {
    return errnoStatus(errno, "creating directory \"" + p.string() + "\"");
  }
  // mkdir(2) applies the umask; the layout's modes are exact.
  if (::chmod(p.c_str(), mode) != 0) {
    return errnoStatus(errno, "setting mode of \"" + p.string() + "\"");
  }
  return Status::ok();
}

}  // namespace

DirPool::DirPool(fs::path dir, size_t depth) : dir_(std::move(dir)), depth_(depth) {
  boost::system::error_code ec;
  fs::remove_all(dir_, ec);  // only ever empty fs/ and work/ dirs of an earlier run
  if (::mkdir(dir_.c_str(), 0700) != 0) {
    // take() then fails the way a Prepare without a usable root would.
    NIXSNAP_LOG(Warn, "directory pool disabled",
                {{"path", dir_.string()}, {"error", errnoStatus(errno, "mkdir").message()}});
    depth_ = 0;
  }
  if (depth_ > 0) {
    thread_ = std::thread([this] { run(); });
  }
}

DirPool::~DirPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

Result<TempDir> DirPool::build(const fs::path& dir, bool with_work) {
  Result<TempDir> tmp = TempDir::create(dir, "");
  if (!tmp.isOk()) {
    return tmp.status();
  }
  NIXSNAP_RETURN_IF_ERROR(makeDir(tmp->path() / "fs", 0755));
  if (with_work) {
    NIXSNAP_RETURN_IF_ERROR(makeDir(tmp->path() / "work", 0711));
  }
  return tmp;
}

Result<TempDir> DirPool::take(bool with_work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::deque<TempDir>& q = ready_[with_work ? 1 : 0];
    if (!q.empty()) {
      TempDir d = std::move(q.front());
      q.pop_front();
      cv_.notify_all();
      return d;
    }
  }
  cv_.notify_all();
  return build(dir_, with_work);
}

bool DirPool::wantsMore() const { return ready_[0].size() < depth_ || ready_[1].size() < depth_; }

void DirPool::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || wantsMore(); });
    if (stopping_) {
      return;
    }
    bool with_work = ready_[1].size() <= ready_[0].size() && ready_[1].size() < depth_;
    lock.unlock();
    Result<TempDir> d = build(dir_, with_work);
    lock.lock();
    if (!d.isOk()) {
      NIXSNAP_LOG(Warn, "directory pool cannot build", {{"error", d.status().message()}});
      // Requests build their own meanwhile; retry later, not in a tight loop.
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
      continue;
    }
    ready_[with_work ? 1 : 0].push_back(std::move(*d));
  }
}

}  // namespace nixsnap::snapshotter
