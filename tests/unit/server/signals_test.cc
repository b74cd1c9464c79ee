#include "server/signals.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

namespace nixsnap::server {
namespace {

/// Restores the thread's signal mask at scope end.
class MaskRestorer {
 public:
  MaskRestorer() { pthread_sigmask(SIG_SETMASK, nullptr, &saved_); }
  ~MaskRestorer() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

bool blocked(int sig) {
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

TEST(SignalsTest, BlocksTerminationSignalsAndWaitReturnsTheOneReceived) {
  MaskRestorer restore;
  blockTerminationSignals();
  EXPECT_TRUE(blocked(SIGTERM));
  EXPECT_TRUE(blocked(SIGINT));
  // Thread-directed, so it stays pending here whatever other threads do.
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(waitForTerminationSignal(), SIGTERM);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(waitForTerminationSignal(), SIGINT);
}

}  // namespace
}  // namespace nixsnap::server
