#include "nix/realise_scheduler.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <utility>

#include "common/log.h"

namespace nixsnap::nix {

/// One inner realise() running for a caller that may give up.
struct RealiseScheduler::Flight {
  bool done = false;       ///< guarded by mu_
  bool abandoned = false;  ///< the caller gave up; guarded by mu_
  Status status;           ///< valid once done
};

namespace {

std::vector<std::string> keysOf(const std::vector<fs::path>& paths) {
  std::vector<std::string> keys;
  keys.reserve(paths.size());
  for (const fs::path& p : paths) {
    keys.push_back(p.string());
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

Status gaveUp(const std::vector<fs::path>& paths, std::string_view while_what) {
  return Status(ErrorCode::Canceled, "realising " + std::to_string(paths.size()) +
                                         " store paths (first \"" + paths.front().string() +
                                         "\"): the caller gave up " + std::string(while_what));
}

}  // namespace

RealiseScheduler::RealiseScheduler(NixStorePtr inner, size_t max_parallel,
                                   std::function<void()> stop_orphans)
    : inner_(std::move(inner)),
      max_parallel_(std::max<size_t>(1, max_parallel)),
      stop_orphans_(std::move(stop_orphans)) {}

RealiseScheduler::~RealiseScheduler() {
  std::unique_lock<std::mutex> lock(mu_);
  if (abandoned_ > 0 && stop_orphans_) {
    NIXSNAP_LOG(Info, "stopping realisations whose callers gave up",
                {{"count", std::to_string(abandoned_)}});
    lock.unlock();
    stop_orphans_();
    lock.lock();
  }
  cv_.wait(lock, [&] { return threads_ == 0; });
}

bool RealiseScheduler::allFree(const std::vector<std::string>& keys) const {
  return std::none_of(keys.begin(), keys.end(),
                      [&](const std::string& k) { return busy_.count(k) > 0; });
}

void RealiseScheduler::release(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    busy_.erase(k);
  }
  --running_;
}

Status RealiseScheduler::realise(const std::vector<fs::path>& store_paths,
                                 const fs::path& gc_root_dir) {
  return realise(store_paths, gc_root_dir, CancelToken());
}

Status RealiseScheduler::realise(const std::vector<fs::path>& store_paths,
                                 const fs::path& gc_root_dir, const CancelToken& cancel) {
  if (store_paths.empty()) {
    return inner_->realise(store_paths, gc_root_dir);
  }
  std::vector<std::string> keys = keysOf(store_paths);
  std::unique_lock<std::mutex> lock(mu_);
  bool logged = false;
  ++waiting_;
  while (running_ >= max_parallel_ || !allFree(keys)) {
    if (cancel.cancelled()) {
      --waiting_;
      return gaveUp(store_paths, "while waiting for its turn");
    }
    if (!logged) {
      const char* reason =
          running_ >= max_parallel_ ? "all slots busy" : "a path is being realised by another call";
      NIXSNAP_LOG(Debug, "realisation waits",
                  {{"first", store_paths.front().string()}, {"reason", reason}});
      logged = true;
    }
    if (cancel.canCancel()) {
      cv_.wait_for(lock, kCancelPoll);
    } else {
      cv_.wait(lock);
    }
  }
  --waiting_;
  busy_.insert(keys.begin(), keys.end());
  ++running_;
  if (!cancel.canCancel()) {
    lock.unlock();
    Status st = inner_->realise(store_paths, gc_root_dir);
    lock.lock();
    release(keys);
    cv_.notify_all();
    return st;
  }
  auto flight = std::make_shared<Flight>();
  ++threads_;
  lock.unlock();
  try {
    startFlight(store_paths, gc_root_dir, keys, flight);
  } catch (const std::exception& e) {  // std::system_error: no thread to be had
    lock.lock();
    --threads_;
    release(keys);
    cv_.notify_all();
    return internalError(std::string("starting a realisation thread: ") + e.what());
  }
  lock.lock();
  while (!flight->done) {
    if (cancel.cancelled()) {
      flight->abandoned = true;
      ++abandoned_;
      NIXSNAP_LOG(Info, "caller gave up; its realisation ends in the background",
                  {{"gc_root_dir", gc_root_dir.string()}});
      return gaveUp(store_paths, "while it ran (its roots are removed when it ends)");
    }
    cv_.wait_for(lock, kCancelPoll);
  }
  return flight->status;
}

void RealiseScheduler::startFlight(std::vector<fs::path> paths, fs::path dir,
                                   std::vector<std::string> keys, std::shared_ptr<Flight> flight) {
  std::thread([this, paths = std::move(paths), dir = std::move(dir), keys = std::move(keys),
               flight = std::move(flight)] {
    Status st = inner_->realise(paths, dir);
    bool abandoned = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      flight->done = true;
      flight->status = st;
      abandoned = flight->abandoned;
      if (!abandoned) {
        release(keys);
      }
      cv_.notify_all();
    }
    if (abandoned) {
      // A failed realise removed its own roots; a successful one's are ours to remove.
      // The paths stay claimed until then, so a waiter roots them after this.
      if (st.isOk()) {
        Status rm = inner_->removeRoots(dir);
        if (!rm.isOk()) {
          NIXSNAP_LOG(Warn, "failed to remove gc roots of an abandoned realisation",
                      {{"gc_root_dir", dir.string()}, {"error", rm.message()}});
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      release(keys);
      --abandoned_;
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    --threads_;
    cv_.notify_all();
  }).detach();
}

RealiseScheduler::Load RealiseScheduler::load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Load{running_, waiting_};
}

Status RealiseScheduler::removeRoots(const fs::path& gc_root_dir) {
  return inner_->removeRoots(gc_root_dir);
}

Result<std::vector<fs::path>> RealiseScheduler::requisites(const fs::path& store_path) {
  return inner_->requisites(store_path);
}

}  // namespace nixsnap::nix
