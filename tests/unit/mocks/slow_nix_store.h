// A NixStore fake whose realisations block until the test opens a gate: models Nix well
// enough to tell "realised" (substituted: the path was not valid) from "only rooted".
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "nix/store.h"

namespace nixsnap::testing {

class SlowNixStore : public nix::NixStore {
 public:
  /// Realising a path that is not valid yet blocks until open() (or fails with
  /// `fail_with` once failNext() was called, or ends Canceled once the CancelToken fires,
  /// unless ignore_cancel_). A valid path is only rooted, at once.
  Status realise(const std::vector<fs::path>& paths, const fs::path& dir) override {
    return realiseKnownValid(paths, dir, CancelToken(), {});
  }
  Status realise(const std::vector<fs::path>& paths, const fs::path& dir,
                 const CancelToken& cancel) override {
    return realiseKnownValid(paths, dir, cancel, {});
  }
  Status realiseKnownValid(const std::vector<fs::path>& paths, const fs::path& dir,
                           const CancelToken& cancel,
                           const std::vector<fs::path>& known_valid) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_;
    ++running_;
    max_running_ = std::max(max_running_, running_);
    for (const fs::path& p : known_valid) {
      known_valid_[dir.string()].insert(p.string());
    }
    std::vector<std::string> fresh;
    for (const fs::path& p : paths) {
      if (in_calls_.count(p.string()) > 0) {
        same_path_overlap_ = true;
      }
      in_calls_.insert(p.string());
      if (valid_.count(p.string()) == 0) {
        fresh.push_back(p.string());
      }
    }
    roots_[dir.string()];  // the folder exists from the start, like the real stores
    cv_.notify_all();
    enum { Done, Failed, Cancelled } end = Done;
    if (!fresh.empty()) {
      auto over = [&] {
        return open_ || fail_next_ > 0 || (!ignore_cancel_ && cancel.cancelled());
      };
      while (!over()) {  // the token is polled, like the real runner does
        cv_.wait_for(lock, std::chrono::milliseconds(5));
      }
      if (!open_ && fail_next_ > 0) {
        --fail_next_;
        end = Failed;
      } else if (!open_) {
        end = Cancelled;
      }
    }
    for (const fs::path& p : paths) {
      in_calls_.erase(in_calls_.find(p.string()));
    }
    --running_;
    cv_.notify_all();
    if (end != Done) {
      roots_.erase(dir.string());  // all or nothing: the store removes its own roots
      if (end == Cancelled) {
        cancelled_.push_back(dir.string());
        return Status(ErrorCode::Canceled, "substitution stopped");
      }
      return Status(ErrorCode::Internal, "substituter failed");
    }
    for (const std::string& p : fresh) {
      valid_.insert(p);
      ++substituted_[p];
    }
    for (const fs::path& p : paths) {
      roots_[dir.string()].insert(p.string());
    }
    return Status::ok();
  }

  Status removeRoots(const fs::path& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    roots_.erase(dir.string());
    removed_.push_back(dir.string());
    cv_.notify_all();
    return Status::ok();
  }

  Result<std::vector<fs::path>> requisites(const fs::path& p) override {
    return std::vector<fs::path>{p};
  }

  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  /// The next blocked realisation fails (Internal) instead of waiting for open().
  void failNext() {
    std::lock_guard<std::mutex> lock(mu_);
    ++fail_next_;
    cv_.notify_all();
  }

  /// Waits until `pred` holds (under the lock). The time limit only keeps a broken
  /// build from hanging CI; the test fails if it is reached.
  bool waitFor(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), pred);
  }

  // Accessors; call with no realise() of the test's own thread in progress.
  template <typename T>
  T get(const T& field) {
    std::lock_guard<std::mutex> lock(mu_);
    return field;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool ignore_cancel_ = false;  ///< set: runs to its end whatever the token says
  int fail_next_ = 0;
  int calls_ = 0;
  int running_ = 0;
  int max_running_ = 0;
  bool same_path_overlap_ = false;
  std::multiset<std::string> in_calls_;
  std::set<std::string> valid_;
  std::map<std::string, int> substituted_;
  std::map<std::string, std::set<std::string>> roots_;  ///< by gc root dir
  std::vector<std::string> removed_;
  std::vector<std::string> cancelled_;                        ///< dirs of calls that ended Canceled
  std::map<std::string, std::set<std::string>> known_valid_;  ///< hints, by gc root dir
};

}  // namespace nixsnap::testing
