#include "nix/root_reaper.h"

#include <utility>

#include "common/log.h"
#include "nix/gc_roots.h"

namespace nixsnap::nix {

RootReaper::RootReaper() = default;

RootReaper::~RootReaper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

Status RootReaper::remove(const fs::path& dir) {
  Result<fs::path> detached = detachRootDir(dir);
  if (!detached.isOk()) {
    return detached.status();
  }
  if (detached->empty()) {
    return Status::ok();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(*detached));
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { run(); });
    }
  }
  cv_.notify_all();
  return Status::ok();
}

void RootReaper::waitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && !busy_) || stopping_; });
}

void RootReaper::run() {
  auto keep_going = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return !stopping_;
  };
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (stopping_) {
      return;
    }
    fs::path dir = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    Status st = removeDetachedRootDir(dir, keep_going);
    if (!st.isOk()) {
      NIXSNAP_LOG(Warn, "failed to remove detached gc roots",
                  {{"path", dir.string()}, {"error", st.message()}});
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace nixsnap::nix
