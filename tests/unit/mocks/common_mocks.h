#pragma once

#include <gmock/gmock.h>

#include "common/clock.h"
#include "common/process_runner.h"

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

}  // namespace nixsnap::testing
