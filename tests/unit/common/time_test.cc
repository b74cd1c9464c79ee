#include <gtest/gtest.h>

#include "common/sleeper.h"
#include "mocks/common_mocks.h"

namespace nixsnap {
namespace {

TEST(FakeSleeperTest, AdvancesTheSharedClockInsteadOfWaiting) {
  auto clock = std::make_shared<testing::ManualClock>();
  testing::FakeSleeper sleeper(clock);
  auto start = clock->now();
  sleeper.sleepFor(std::chrono::hours(1));
  EXPECT_EQ(clock->now() - start, std::chrono::hours(1));
  EXPECT_EQ(sleeper.sleeps(), 1);
}

TEST(ThreadSleeperTest, SleepsAtLeastTheRequestedTime) {
  SleeperPtr sleeper = makeThreadSleeper();
  auto start = std::chrono::steady_clock::now();
  sleeper->sleepFor(std::chrono::milliseconds(2));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2));
}

}  // namespace
}  // namespace nixsnap
