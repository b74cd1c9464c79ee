#include "mocks/common_mocks.h"

namespace nixsnap::testing {

MockProcessRunner::MockProcessRunner() = default;
MockProcessRunner::~MockProcessRunner() = default;
MockClock::MockClock() = default;
MockClock::~MockClock() = default;

std::chrono::system_clock::time_point SteppingClock::now() const {
  // 2026-01-01T00:00:00Z plus one second per call.
  return std::chrono::system_clock::time_point(std::chrono::seconds(1767225600 + ticks_++));
}

std::chrono::system_clock::time_point ManualClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

void ManualClock::advance(std::chrono::milliseconds d) {
  std::lock_guard lock(mu_);
  now_ += d;
}

void FakeSleeper::sleepFor(std::chrono::milliseconds d) {
  ++sleeps_;
  clock_->advance(d);
}

}  // namespace nixsnap::testing
