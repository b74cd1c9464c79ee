// RealiseScheduler: realisations side by side up to a bound, once per store path, and
// callers that give up leave nothing behind. Ordering is asserted with the slow fake's
// gate and counters, never with timings.
#include "nix/realise_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "mocks/forwarding_nix_store.h"
#include "mocks/slow_nix_store.h"

namespace nixsnap::testing {
namespace {

using nix::RealiseScheduler;

const fs::path kA = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a";
const fs::path kB = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b";
const fs::path kC = "/nix/store/cccccccccccccccccccccccccccccccc-c";

/// A token the test cancels.
struct Flag {
  std::atomic<bool> set{false};
  CancelToken token() {
    return CancelToken([this] { return set.load(); });
  }
};

class RealiseSchedulerTest : public ::testing::Test {
 protected:
  void make(size_t bound, std::function<void()> stop = {}) {
    sched_ = std::make_unique<RealiseScheduler>(forwardTo(fake_), bound, std::move(stop));
  }
  /// Waits until the scheduler has `n` callers waiting (for a slot or a path).
  bool waitingCalls(size_t n) {
    for (int i = 0; i < 30000; ++i) {  // safety limit only; see SlowNixStore::waitFor
      if (sched_->load().waiting == n) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  /// Realises kA under /roots/1 with abandon_'s token and gives up once it runs.
  void abandonRunningA() {
    Status a;
    std::thread ta([&] { a = sched_->realise({kA}, "/roots/1", abandon_.token()); });
    const bool running = fake_.waitFor([&] { return fake_.running_ == 1; });
    abandon_.set = true;
    ta.join();  // returns at once; the gate is not opened
    ASSERT_TRUE(running);
    ASSERT_EQ(a.code(), ErrorCode::Canceled);
  }

  SlowNixStore fake_;
  Flag abandon_;  // outlives sched_, which may still read the token
  std::unique_ptr<RealiseScheduler> sched_;
};

TEST_F(RealiseSchedulerTest, RealisationsOfDifferentLayersOverlap) {
  make(4);
  Status a, b;
  std::thread ta([&] { a = sched_->realise({kA}, "/roots/1"); });
  std::thread tb([&] { b = sched_->realise({kB}, "/roots/2"); });
  // Both are inside the store at once, each still blocked on its substitution.
  EXPECT_TRUE(fake_.waitFor([&] { return fake_.running_ == 2; }));
  fake_.open();
  ta.join();
  tb.join();
  EXPECT_TRUE(a.isOk()) << a.toString();
  EXPECT_TRUE(b.isOk()) << b.toString();
  EXPECT_EQ(fake_.get(fake_.max_running_), 2);
}

TEST_F(RealiseSchedulerTest, BoundLimitsRealisationsRunningAtOnce) {
  make(1);
  Status a, b;
  std::thread ta([&] { a = sched_->realise({kA}, "/roots/1"); });
  ASSERT_TRUE(fake_.waitFor([&] { return fake_.running_ == 1; }));
  std::thread tb([&] { b = sched_->realise({kB}, "/roots/2"); });
  ASSERT_TRUE(waitingCalls(1));  // b queues for the one slot
  EXPECT_EQ(fake_.get(fake_.calls_), 1);
  fake_.open();
  ta.join();
  tb.join();
  EXPECT_TRUE(a.isOk());
  EXPECT_TRUE(b.isOk());
  EXPECT_EQ(fake_.get(fake_.max_running_), 1);
  EXPECT_EQ(fake_.get(fake_.calls_), 2);
}

TEST_F(RealiseSchedulerTest, PathNeededTwiceAtOnceIsRealisedOnceAndRootedTwice) {
  make(4);
  Status a, b;
  std::thread ta([&] { a = sched_->realise({kA, kB}, "/roots/1"); });
  ASSERT_TRUE(fake_.waitFor([&] { return fake_.running_ == 1; }));
  // Shares kB: waits for the first call instead of substituting kB a second time.
  std::thread tb([&] { b = sched_->realise({kB, kC}, "/roots/2"); });
  ASSERT_TRUE(waitingCalls(1));
  fake_.open();
  ta.join();
  tb.join();
  ASSERT_TRUE(a.isOk());
  ASSERT_TRUE(b.isOk());
  std::lock_guard<std::mutex> lock(fake_.mu_);
  EXPECT_FALSE(fake_.same_path_overlap_);
  EXPECT_EQ(fake_.substituted_[kB.string()], 1);
  EXPECT_EQ(fake_.substituted_[kC.string()], 1);
  EXPECT_EQ(fake_.roots_["/roots/1"], (std::set<std::string>{kA.string(), kB.string()}));
  EXPECT_EQ(fake_.roots_["/roots/2"], (std::set<std::string>{kB.string(), kC.string()}));
  // The second call was told kB is valid: a builder need not run for it again.
  EXPECT_EQ(fake_.known_valid_["/roots/2"], std::set<std::string>{kB.string()});
  EXPECT_EQ(fake_.known_valid_.count("/roots/1"), 0u);
}

TEST_F(RealiseSchedulerTest, WaiterRealisesItselfWhenTheFirstCallFails) {
  make(4);
  Status a, b;
  std::thread ta([&] { a = sched_->realise({kA}, "/roots/1"); });
  ASSERT_TRUE(fake_.waitFor([&] { return fake_.running_ == 1; }));
  std::thread tb([&] { b = sched_->realise({kA}, "/roots/2"); });
  ASSERT_TRUE(waitingCalls(1));
  fake_.failNext();
  ta.join();
  EXPECT_EQ(a.code(), ErrorCode::Internal);
  fake_.open();
  tb.join();
  EXPECT_TRUE(b.isOk()) << b.toString();
  std::lock_guard<std::mutex> lock(fake_.mu_);
  EXPECT_EQ(fake_.roots_.count("/roots/1"), 0u);
  EXPECT_EQ(fake_.roots_["/roots/2"], (std::set<std::string>{kA.string()}));
  EXPECT_EQ(fake_.known_valid_.count("/roots/2"), 0u);  // nothing was made valid for it
}

TEST_F(RealiseSchedulerTest, CallerGivingUpWhileQueuedLeavesNothing) {
  make(1);
  Status a, b;
  Flag flag;
  std::thread ta([&] { a = sched_->realise({kA}, "/roots/1"); });
  ASSERT_TRUE(fake_.waitFor([&] { return fake_.running_ == 1; }));
  std::thread tb([&] { b = sched_->realise({kB}, "/roots/2", flag.token()); });
  ASSERT_TRUE(waitingCalls(1));
  flag.set = true;
  tb.join();  // returns while a still blocks the only slot
  EXPECT_EQ(b.code(), ErrorCode::Canceled);
  EXPECT_EQ(fake_.get(fake_.calls_), 1);
  EXPECT_EQ(fake_.get(fake_.roots_).count("/roots/2"), 0u);
  fake_.open();
  ta.join();
  EXPECT_TRUE(a.isOk());
}

TEST_F(RealiseSchedulerTest, AbandonedRealisationNobodyWaitsForIsStopped) {
  make(4);
  ASSERT_NO_FATAL_FAILURE(abandonRunningA());
  // The inner call sees its own token fire, stops and removes the roots it made.
  EXPECT_TRUE(fake_.waitFor([&] { return fake_.cancelled_.size() == 1; }));
  sched_.reset();
  std::lock_guard<std::mutex> lock(fake_.mu_);
  EXPECT_EQ(fake_.cancelled_, std::vector<std::string>{"/roots/1"});
  EXPECT_EQ(fake_.substituted_.count(kA.string()), 0u);
  EXPECT_TRUE(fake_.roots_.empty());
  EXPECT_TRUE(fake_.removed_.empty());  // removed once, by the inner store only
}

TEST_F(RealiseSchedulerTest, AbandonedRealisationThatEndsWellHasItsRootsRemovedOnce) {
  fake_.ignore_cancel_ = true;  // a store that runs to its end whatever the token says
  make(4);
  ASSERT_NO_FATAL_FAILURE(abandonRunningA());
  // Cleanup meanwhile (no record owns the folder) leaves it to the realisation's end.
  EXPECT_TRUE(sched_->removeRoots("/roots/1").isOk());
  EXPECT_TRUE(fake_.get(fake_.removed_).empty());
  fake_.open();
  sched_.reset();  // waits for the abandoned realisation and its clean-up
  std::lock_guard<std::mutex> lock(fake_.mu_);
  EXPECT_EQ(fake_.roots_.count("/roots/1"), 0u);
  EXPECT_EQ(fake_.removed_, std::vector<std::string>{"/roots/1"});
  EXPECT_TRUE(fake_.cancelled_.empty());
}

TEST_F(RealiseSchedulerTest, AbandonedRealisationStillServesAWaiterForItsPath) {
  make(4);
  Flag flag;
  Status a, b;
  std::thread ta([&] { a = sched_->realise({kA}, "/roots/1", flag.token()); });
  ASSERT_TRUE(fake_.waitFor([&] { return fake_.running_ == 1; }));
  std::thread tb([&] { b = sched_->realise({kA}, "/roots/2"); });
  ASSERT_TRUE(waitingCalls(1));
  flag.set = true;
  ta.join();
  EXPECT_EQ(a.code(), ErrorCode::Canceled);
  // Not stopped: it runs on for the waiter, whose Remove-time Cleanup changes nothing.
  EXPECT_EQ(fake_.get(fake_.running_), 1);
  EXPECT_TRUE(sched_->removeRoots("/roots/1").isOk());
  fake_.open();
  tb.join();
  ASSERT_TRUE(b.isOk());
  sched_.reset();
  std::lock_guard<std::mutex> lock(fake_.mu_);
  EXPECT_TRUE(fake_.cancelled_.empty());
  EXPECT_EQ(fake_.substituted_[kA.string()], 1);
  EXPECT_EQ(fake_.known_valid_["/roots/2"], std::set<std::string>{kA.string()});
  EXPECT_EQ(fake_.roots_.count("/roots/1"), 0u);
  EXPECT_EQ(fake_.roots_["/roots/2"], (std::set<std::string>{kA.string()}));
  EXPECT_EQ(fake_.removed_, std::vector<std::string>{"/roots/1"});  // exactly once
}

TEST_F(RealiseSchedulerTest, LastWaiterGivingUpStopsTheAbandonedRealisation) {
  make(4);
  Flag owner, waiter;
  Status a, b;
  std::thread ta([&] { a = sched_->realise({kA}, "/roots/1", owner.token()); });
  ASSERT_TRUE(fake_.waitFor([&] { return fake_.running_ == 1; }));
  std::thread tb([&] { b = sched_->realise({kA, kB}, "/roots/2", waiter.token()); });
  ASSERT_TRUE(waitingCalls(1));
  owner.set = true;
  ta.join();
  EXPECT_TRUE(fake_.get(fake_.cancelled_).empty());
  waiter.set = true;
  tb.join();
  EXPECT_EQ(a.code(), ErrorCode::Canceled);
  EXPECT_EQ(b.code(), ErrorCode::Canceled);
  EXPECT_TRUE(fake_.waitFor([&] { return fake_.cancelled_.size() == 1; }));
  sched_.reset();
  std::lock_guard<std::mutex> lock(fake_.mu_);
  EXPECT_EQ(fake_.cancelled_, std::vector<std::string>{"/roots/1"});
  EXPECT_EQ(fake_.calls_, 1);  // the waiter never ran
  EXPECT_TRUE(fake_.roots_.empty());
  EXPECT_TRUE(fake_.removed_.empty());
}

TEST_F(RealiseSchedulerTest, ShutdownStopsRealisationsNobodyWaitsFor) {
  // For an inner store that ignores its token: the daemon's hook ends child processes;
  // here it ends the fake's blocked substitution.
  fake_.ignore_cancel_ = true;
  bool stopped = false;
  make(4, [&] {
    stopped = true;
    fake_.failNext();
  });
  ASSERT_NO_FATAL_FAILURE(abandonRunningA());
  sched_.reset();  // would wait forever without the hook: the gate is never opened
  EXPECT_TRUE(stopped);
  EXPECT_EQ(fake_.get(fake_.roots_).count("/roots/1"), 0u);
}

TEST_F(RealiseSchedulerTest, RemoveRootsAndRequisitesGoToTheInnerStore) {
  make(2);
  EXPECT_TRUE(sched_->removeRoots("/roots/9").isOk());
  EXPECT_EQ(fake_.get(fake_.removed_), std::vector<std::string>{"/roots/9"});
  auto r = sched_->requisites(kA);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(*r, std::vector<fs::path>{kA});
  EXPECT_EQ(sched_->maxParallel(), 2u);
  EXPECT_TRUE(sched_->realise({}, "/roots/0").isOk());
}

}  // namespace
}  // namespace nixsnap::testing
