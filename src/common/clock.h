#pragma once

#include <chrono>
#include <memory>

namespace nixsnap {

/// Wall clock seam: snapshot created/updated times come from here so tests can pin them.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Current UTC time.
  virtual std::chrono::system_clock::time_point now() const = 0;
};
using ClockPtr = std::shared_ptr<Clock>;

/// std::chrono::system_clock.
ClockPtr makeSystemClock();

}  // namespace nixsnap
