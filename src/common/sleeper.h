#pragma once

#include <chrono>
#include <memory>

namespace nixsnap {

/// Pauses the calling thread: the seam for polling loops (waiting for containerd's CRI to
/// list an image), so their tests advance a fake clock instead of waiting in real time.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  /// Returns after `d` has passed (for a fake: after advancing its clock by `d`).
  virtual void sleepFor(std::chrono::milliseconds d) = 0;
};
using SleeperPtr = std::shared_ptr<Sleeper>;

/// std::this_thread::sleep_for.
SleeperPtr makeThreadSleeper();

}  // namespace nixsnap
