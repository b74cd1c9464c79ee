#include "common/interrupt_cleanup.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>

#include "support/test_env.h"

namespace nixsnap {
namespace {

/// Runs removeOnInterrupt in a forked child (it changes the process's signal handling),
/// sends `sig` once the child has filled its scratch dir, and returns the wait status.
int interruptChild(const fs::path& scratch, int sig, const fs::path& partial = {},
                   const fs::path& complete = {}) {
  int ready[2];
  EXPECT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    fs::create_directories(scratch / "blobs" / "sha256");
    std::ofstream(scratch / "blobs" / "sha256" / "layer") << "partial";
    removeOnInterrupt(scratch);
    for (const fs::path& f : {partial, complete}) {
      if (!f.empty()) {
        std::ofstream(f) << "half an archive";
        unlinkOnInterrupt(f);
      }
    }
    if (!complete.empty()) {
      keepOnInterrupt(complete);
    }
    (void)::write(ready[1], "r", 1);
    for (;;) {
      ::pause();  // the signal is taken by the cleanup thread, never delivered here
    }
  }
  ::close(ready[1]);
  char c = 0;
  EXPECT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(::kill(pid, sig), 0);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

TEST(InterruptCleanupTest, SigtermRemovesTheScratchDirAndExits143) {
  TempDir dir = testing::makeTempDir();
  const fs::path scratch = dir.path() / "nix2container-run";
  int status = interruptChild(scratch, SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of cleaning up";
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_FALSE(fs::exists(scratch));
}

TEST(InterruptCleanupTest, SigintToo) {
  TempDir dir = testing::makeTempDir();
  const fs::path scratch = dir.path() / "nix2container-run";
  int status = interruptChild(scratch, SIGINT);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  EXPECT_FALSE(fs::exists(scratch));
}

TEST(InterruptCleanupTest, UnlinksAnOutputBeingWrittenButNotACompleteOne) {
  TempDir dir = testing::makeTempDir();
  const fs::path scratch = dir.path() / "nix2container-run";
  const fs::path partial = dir.path() / "out.tar";
  const fs::path complete = dir.path() / "done.tar";
  int status = interruptChild(scratch, SIGHUP, partial, complete);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGHUP);
  EXPECT_FALSE(fs::exists(scratch));
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_TRUE(fs::exists(complete));
}

}  // namespace
}  // namespace nixsnap
