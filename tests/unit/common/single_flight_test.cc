#include "common/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace nixsnap {
namespace {

TEST(SingleFlightTest, ConcurrentCallersShareOneRun) {
  SingleFlight<int> flight;
  std::atomic<int> runs{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> shared_count{0};
  auto call = [&] {
    bool shared = false;
    int v = flight.run(
        "k",
        [&] {
          ++runs;
          released.wait();
          return 42;
        },
        &shared);
    if (shared) {
      ++shared_count;
    }
    return v;
  };
  std::vector<std::future<int>> results;
  results.push_back(std::async(std::launch::async, call));
  while (flight.inFlight() == 0) {
    std::this_thread::yield();
  }
  for (int i = 0; i < 7; ++i) {
    results.push_back(std::async(std::launch::async, call));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  release.set_value();
  for (auto& r : results) {
    EXPECT_EQ(r.get(), 42);
  }
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(shared_count.load(), 7);
  EXPECT_EQ(flight.inFlight(), 0u);
}

TEST(SingleFlightTest, DifferentKeysRunSeparately) {
  SingleFlight<int> flight;
  EXPECT_EQ(flight.run("a", [] { return 1; }), 1);
  EXPECT_EQ(flight.run("b", [] { return 2; }), 2);
}

TEST(SingleFlightTest, LaterCallsRunAgain) {
  SingleFlight<int> flight;
  int runs = 0;
  flight.run("a", [&] { return ++runs; });
  flight.run("a", [&] { return ++runs; });
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace nixsnap
