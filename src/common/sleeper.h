#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace nixsnap {

/// A flag a sleeping thread wakes up for (a background loop's stop request): set once,
/// stays set. Thread-safe.
class WakeFlag {
 public:
  void set();
  bool isSet() const;
  /// Waits until the flag is set or `d` has passed, in real time.
  /// @return whether the flag is set.
  bool waitFor(std::chrono::milliseconds d);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

/// Pauses the calling thread: the seam for polling loops (waiting for containerd's CRI to
/// list an image, retrying the start-up check), so their tests advance a fake clock
/// instead of waiting in real time.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  /// Returns after `d` has passed (for a fake: after advancing its clock by `d`).
  virtual void sleepFor(std::chrono::milliseconds d) = 0;
  /// Like sleepFor, but returns as soon as `wake` is set.
  /// @return whether `wake` is set. The default sleeps the whole `d` unless `wake` is
  ///         already set: right for fakes, which return at once.
  virtual bool sleepUnlessWoken(std::chrono::milliseconds d, WakeFlag& wake) {
    if (!wake.isSet()) {
      sleepFor(d);
    }
    return wake.isSet();
  }
};
using SleeperPtr = std::shared_ptr<Sleeper>;

/// std::this_thread::sleep_for; a WakeFlag's condition variable for sleepUnlessWoken.
SleeperPtr makeThreadSleeper();

}  // namespace nixsnap
