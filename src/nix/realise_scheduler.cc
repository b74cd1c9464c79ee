#include "nix/realise_scheduler.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <utility>

#include "common/log.h"

namespace nixsnap::nix {

/// One running inner realise() call.
struct RealiseScheduler::Flight {
  std::vector<std::string> keys;  ///< its paths, sorted, unique
  fs::path dir;                   ///< its gc_root_dir
  std::atomic<bool> stop{false};  ///< the inner call's CancelToken
  bool done = false;              ///< guarded by mu_
  bool abandoned = false;         ///< the caller gave up; guarded by mu_
  Status status;                  ///< valid once done
};

/// One call waiting for a slot or a path.
struct RealiseScheduler::Waiter {
  const std::vector<std::string>& keys;  ///< sorted, unique
  std::set<std::string> valid;           ///< its paths a successful flight realised meanwhile; mu_
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
  for (auto& [dir, f] : flights_) {
    if (f->abandoned) {
      f->stop = true;
    }
  }
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

bool RealiseScheduler::wanted(const std::vector<std::string>& keys) const {
  for (const Waiter* w : waiters_) {
    for (const std::string& k : keys) {
      if (std::binary_search(w->keys.begin(), w->keys.end(), k)) {
        return true;
      }
    }
  }
  return false;
}

void RealiseScheduler::finish(Flight& f, bool ok) {
  if (ok) {
    for (Waiter* w : waiters_) {
      for (const std::string& k : f.keys) {
        if (std::binary_search(w->keys.begin(), w->keys.end(), k)) {
          w->valid.insert(k);
        }
      }
    }
  }
  for (const std::string& k : f.keys) {
    busy_.erase(k);
  }
  --running_;
  cv_.notify_all();
}

void RealiseScheduler::stopUnwanted() {
  for (auto& [dir, f] : flights_) {
    if (f->abandoned && !f->done && !f->stop && !wanted(f->keys)) {
      f->stop = true;
      NIXSNAP_LOG(Info, "stopping a realisation nobody waits for any more", {{"gc_root_dir", dir}});
    }
  }
}

Status RealiseScheduler::waitTurn(std::unique_lock<std::mutex>& lock, Waiter& me,
                                  const CancelToken& cancel, const std::vector<fs::path>& paths) {
  waiters_.push_back(&me);
  auto mine = std::prev(waiters_.end());
  bool logged = false;
  while (running_ >= max_parallel_ || !allFree(me.keys)) {
    if (cancel.cancelled()) {
      waiters_.erase(mine);
      stopUnwanted();
      cv_.notify_all();
      return gaveUp(paths, "while waiting for its turn");
    }
    if (!logged) {
      const char* reason =
          running_ >= max_parallel_ ? "all slots busy" : "a path is being realised by another call";
      NIXSNAP_LOG(Debug, "realisation waits",
                  {{"first", paths.front().string()}, {"reason", reason}});
      logged = true;
    }
    if (cancel.canCancel()) {
      cv_.wait_for(lock, kCancelPoll);
    } else {
      cv_.wait(lock);
    }
  }
  waiters_.erase(mine);
  cv_.notify_all();  // an abandoned flight's roots may wait for this caller
  return Status::ok();
}

Status RealiseScheduler::realise(const std::vector<fs::path>& store_paths,
                                 const fs::path& gc_root_dir) {
  return realiseKnownValid(store_paths, gc_root_dir, CancelToken(), {});
}

Status RealiseScheduler::realise(const std::vector<fs::path>& store_paths,
                                 const fs::path& gc_root_dir, const CancelToken& cancel) {
  return realiseKnownValid(store_paths, gc_root_dir, cancel, {});
}

Status RealiseScheduler::realiseKnownValid(const std::vector<fs::path>& store_paths,
                                           const fs::path& gc_root_dir, const CancelToken& cancel,
                                           const std::vector<fs::path>& known_valid) {
  if (store_paths.empty()) {
    return inner_->realiseKnownValid(store_paths, gc_root_dir, cancel, known_valid);
  }
  const std::vector<std::string> keys = keysOf(store_paths);
  std::unique_lock<std::mutex> lock(mu_);
  Waiter me{keys, {}};
  NIXSNAP_RETURN_IF_ERROR(waitTurn(lock, me, cancel, store_paths));
  std::vector<fs::path> valid = known_valid;
  for (const std::string& k : me.valid) {
    if (std::find(valid.begin(), valid.end(), fs::path(k)) == valid.end()) {
      valid.emplace_back(k);
    }
  }
  auto f = std::make_shared<Flight>();
  f->keys = keys;
  f->dir = gc_root_dir;
  busy_.insert(keys.begin(), keys.end());
  ++running_;
  flights_[gc_root_dir.string()] = f;
  if (!cancel.canCancel()) {
    lock.unlock();
    Status st = inner_->realiseKnownValid(store_paths, gc_root_dir, CancelToken(), valid);
    lock.lock();
    flights_.erase(gc_root_dir.string());
    finish(*f, st.isOk());
    return st;
  }
  ++threads_;
  lock.unlock();
  try {
    startFlight(store_paths, std::move(valid), f);
  } catch (const std::exception& e) {  // std::system_error: no thread to be had
    lock.lock();
    --threads_;
    flights_.erase(gc_root_dir.string());
    finish(*f, false);
    return internalError(std::string("starting a realisation thread: ") + e.what());
  }
  lock.lock();
  while (!f->done) {
    if (cancel.cancelled()) {
      f->abandoned = true;
      ++abandoned_;
      if (!wanted(keys)) {
        f->stop = true;
        NIXSNAP_LOG(Info, "caller gave up; its realisation is stopped",
                    {{"gc_root_dir", gc_root_dir.string()}});
        return gaveUp(store_paths, "while it ran (stopped, its roots removed)");
      }
      NIXSNAP_LOG(Info, "caller gave up; its realisation runs on for others waiting for it",
                  {{"gc_root_dir", gc_root_dir.string()}});
      return gaveUp(store_paths, "while it ran (its roots are removed when it ends)");
    }
    cv_.wait_for(lock, kCancelPoll);
  }
  return f->status;
}

void RealiseScheduler::startFlight(std::vector<fs::path> paths, std::vector<fs::path> known_valid,
                                   FlightPtr f) {
  std::thread([this, paths = std::move(paths), valid = std::move(known_valid), f = std::move(f)] {
    CancelToken stop([f] { return f->stop.load(); });
    Status st = inner_->realiseKnownValid(paths, f->dir, stop, valid);
    {
      std::lock_guard<std::mutex> lock(mu_);
      f->done = true;
      f->status = st;
      if (!f->abandoned) {
        flights_.erase(f->dir.string());
        finish(*f, st.isOk());
        --threads_;
        cv_.notify_all();
        return;
      }
    }
    retire(f, st);
  }).detach();
}

void RealiseScheduler::retire(FlightPtr f, const Status& st) {
  std::unique_lock<std::mutex> lock(mu_);
  finish(*f, st.isOk());
  // A failed or stopped realise removed its own roots; a successful one's are ours, kept
  // until the callers that waited for its paths have rooted them (known valid).
  if (st.isOk()) {
    cv_.wait(lock, [&] { return !wanted(f->keys) && allFree(f->keys); });
    lock.unlock();
    Status rm = inner_->removeRoots(f->dir);
    if (!rm.isOk()) {
      NIXSNAP_LOG(Warn, "failed to remove gc roots of an abandoned realisation",
                  {{"gc_root_dir", f->dir.string()}, {"error", rm.message()}});
    }
    lock.lock();
  }
  flights_.erase(f->dir.string());
  --abandoned_;
  --threads_;
  cv_.notify_all();
}

RealiseScheduler::Load RealiseScheduler::load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Load{running_, waiters_.size()};
}

Status RealiseScheduler::removeRoots(const fs::path& gc_root_dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = flights_.find(gc_root_dir.string());
    if (it != flights_.end() && it->second->abandoned) {
      NIXSNAP_LOG(Debug, "gc roots of an abandoned realisation go when it ends",
                  {{"gc_root_dir", gc_root_dir.string()}});
      return Status::ok();
    }
  }
  return inner_->removeRoots(gc_root_dir);
}

Result<std::vector<fs::path>> RealiseScheduler::requisites(const fs::path& store_path) {
  return inner_->requisites(store_path);
}

}  // namespace nixsnap::nix
