#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace nixsnap {

/// Collapses concurrent calls with the same key into one: the first caller runs the
/// function, callers arriving while it runs wait and receive a copy of its result. Once it
/// finishes, the next call runs the function again (nothing is cached).
/// Thread-safe. Shape of Go's golang.org/x/sync/singleflight.Group.Do.
template <typename T>
class SingleFlight {
 public:
  /// Runs `fn` for `key` unless a call for `key` is in flight, then waits for that one.
  /// `fn` must not throw (it returns Status/Result like every component interface).
  /// @param shared set to true when the result came from another caller's run.
  T run(const std::string& key, const std::function<T()>& fn, bool* shared = nullptr) {
    std::shared_ptr<Call> call;
    {
      std::unique_lock lock(mu_);
      auto it = calls_.find(key);
      if (it != calls_.end()) {
        call = it->second;
        cv_.wait(lock, [&] { return call->result.has_value(); });
        if (shared != nullptr) {
          *shared = true;
        }
        return *call->result;
      }
      call = std::make_shared<Call>();
      calls_.emplace(key, call);
    }
    std::optional<T> result(fn());
    {
      std::lock_guard lock(mu_);
      call->result = result;
      calls_.erase(key);
    }
    cv_.notify_all();
    if (shared != nullptr) {
      *shared = false;
    }
    return std::move(*result);
  }

  /// Number of keys in flight (for tests and diagnostics).
  size_t inFlight() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

 private:
  struct Call {
    std::optional<T> result;
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Call>> calls_;
};

}  // namespace nixsnap
