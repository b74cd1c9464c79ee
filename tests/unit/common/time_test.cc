#include <gtest/gtest.h>

#include <thread>

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

TEST(FakeSleeperTest, WokenSleepAdvancesTheClockUntilTheFlagIsSet) {
  auto clock = std::make_shared<testing::ManualClock>();
  testing::FakeSleeper sleeper(clock);
  WakeFlag wake;
  auto start = clock->now();
  EXPECT_FALSE(sleeper.sleepUnlessWoken(std::chrono::seconds(3), wake));
  EXPECT_EQ(clock->now() - start, std::chrono::seconds(3));
  wake.set();
  EXPECT_TRUE(sleeper.sleepUnlessWoken(std::chrono::seconds(3), wake));
  EXPECT_EQ(clock->now() - start, std::chrono::seconds(3));  // no sleep once set
  EXPECT_EQ(sleeper.sleeps(), 1);
}

TEST(ThreadSleeperTest, SetFlagEndsAWokenSleep) {
  SleeperPtr sleeper = makeThreadSleeper();
  WakeFlag wake;
  EXPECT_FALSE(sleeper->sleepUnlessWoken(std::chrono::milliseconds(1), wake));
  // An hour-long sleep ends once another thread sets the flag (a lost wake-up would
  // hang the test until ctest's timeout).
  std::thread setter([&] { wake.set(); });
  EXPECT_TRUE(sleeper->sleepUnlessWoken(std::chrono::hours(1), wake));
  setter.join();
  EXPECT_TRUE(wake.isSet());
}

}  // namespace
}  // namespace nixsnap
