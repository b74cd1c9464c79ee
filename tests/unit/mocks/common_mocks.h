#pragma once

#include <gmock/gmock.h>

#include <atomic>
#include <mutex>

#include "common/clock.h"
#include "common/process_runner.h"
#include "common/random.h"
#include "common/sleeper.h"

namespace nixsnap::testing {

class MockProcessRunner : public ProcessRunner {
 public:
  MockProcessRunner();
  ~MockProcessRunner() override;
  MOCK_METHOD(Result<ProcessResult>, run,
              (const std::vector<std::string>& argv, const ProcessOptions& options), (override));
};

class MockClock : public Clock {
 public:
  MockClock();
  ~MockClock() override;
  MOCK_METHOD(std::chrono::system_clock::time_point, now, (), (const, override));
};

/// A clock that advances one second per call from a fixed start; for tests that need
/// distinct but predictable times without interaction checks.
class SteppingClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;

 private:
  mutable int64_t ticks_ = 0;
};

/// A clock that stands still until advanced; shared with a FakeSleeper, it lets a polling
/// loop's test run its timeouts without waiting in real time. Thread-safe.
class ManualClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;
  void advance(std::chrono::milliseconds d);

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point now_{std::chrono::seconds(1767225600)};
};

/// A Sleeper that returns at once after advancing `clock` by the requested time, and
/// counts its sleeps.
class FakeSleeper : public Sleeper {
 public:
  explicit FakeSleeper(std::shared_ptr<ManualClock> clock) : clock_(std::move(clock)) {}
  void sleepFor(std::chrono::milliseconds d) override;
  int sleeps() const { return sleeps_; }

 private:
  std::shared_ptr<ManualClock> clock_;
  std::atomic<int> sleeps_{0};
};

/// Random numbers 1, 2, 3, ...: predictable names in tests.
class CountingRandom : public Random {
 public:
  uint64_t next() override { return ++count_; }

 private:
  std::atomic<uint64_t> count_{0};
};

}  // namespace nixsnap::testing
