// Detaching and deleting GC root folders (gc_roots.h, RootReaper).
#include "nix/gc_roots.h"

#include <gmock/gmock.h>
#include <unistd.h>

#include "nix/root_reaper.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

class GcRootsTest : public ::testing::Test {
 protected:
  /// Roots for `n` made-up store paths in `dir`, registered like Nix's indirect roots.
  void makeRoots(const fs::path& dir, int n) {
    fs::create_directories(dir);
    for (int i = 0; i < n; ++i) {
      fs::path p = "/nix/store/" + std::string(31, 'b') + std::to_string(i % 10) + "-p" +
                   std::to_string(i);
      ASSERT_TRUE(nix::addIndirectRoot(state_, dir / p.filename(), p).isOk());
    }
  }
  size_t autoLinks() {
    size_t n = 0;
    for (fs::directory_iterator it(state_ / "gcroots" / "auto"), end; it != end; ++it) {
      ++n;
    }
    return n;
  }
  TempDir dir_ = makeTempDir();
  fs::path state_ = dir_.path() / "state";
  fs::path gcroots_ = dir_.path() / "gcroots";
};

TEST_F(GcRootsTest, DetachRenamesSoEveryRegistrationDangles) {
  makeRoots(gcroots_ / "5", 3);
  auto d = nix::detachRootDir(gcroots_ / "5");
  ASSERT_TRUE(d.isOk()) << d.status().toString();
  EXPECT_EQ(*d, gcroots_ / ".removing-5");
  EXPECT_FALSE(fs::exists(gcroots_ / "5"));
  for (fs::directory_iterator it(state_ / "gcroots" / "auto"), end; it != end; ++it) {
    EXPECT_TRUE(fs::is_symlink(it->path()));
    EXPECT_FALSE(fs::exists(it->path())) << "registration still resolves: " << it->path();
  }
  // A retry on the detached folder keeps it; a missing folder is an empty path.
  EXPECT_EQ(*nix::detachRootDir(*d), *d);
  EXPECT_TRUE(nix::detachRootDir(gcroots_ / "6")->empty());
}

TEST_F(GcRootsTest, RemoveDetachedDeletesEntriesRegistrationsAndFolder) {
  makeRoots(gcroots_ / "5", 4);
  makeRoots(gcroots_ / "6", 2);  // another snapshot's roots stay
  auto d = nix::detachRootDir(gcroots_ / "5");
  ASSERT_TRUE(d.isOk());
  ASSERT_TRUE(nix::removeDetachedRootDir(state_, *d).isOk());
  EXPECT_FALSE(fs::exists(*d));
  EXPECT_EQ(autoLinks(), 2u);
  EXPECT_TRUE(fs::exists(gcroots_ / "6"));
}

TEST_F(GcRootsTest, RemoveDetachedCanStopEarlyAndFinishLater) {
  makeRoots(gcroots_ / "5", 10);
  auto d = nix::detachRootDir(gcroots_ / "5");
  ASSERT_TRUE(d.isOk());
  int budget = 3;
  ASSERT_TRUE(nix::removeDetachedRootDir(state_, *d, [&] { return budget-- > 0; }).isOk());
  EXPECT_TRUE(fs::exists(*d));
  EXPECT_EQ(autoLinks(), 7u);
  ASSERT_TRUE(nix::removeDetachedRootDir(state_, *d).isOk());
  EXPECT_FALSE(fs::exists(*d));
  EXPECT_EQ(autoLinks(), 0u);
}

TEST_F(GcRootsTest, ReaperDetachesAtOnceAndFinishesInTheBackground) {
  makeRoots(gcroots_ / "1", 50);
  makeRoots(gcroots_ / "2", 50);
  nix::RootReaper reaper(state_);
  ASSERT_TRUE(reaper.remove(gcroots_ / "1").isOk());
  ASSERT_TRUE(reaper.remove(gcroots_ / "2").isOk());
  EXPECT_FALSE(fs::exists(gcroots_ / "1"));
  EXPECT_FALSE(fs::exists(gcroots_ / "2"));
  EXPECT_TRUE(reaper.remove(gcroots_ / "3").isOk());  // missing
  reaper.waitIdle();
  EXPECT_TRUE(fs::is_empty(gcroots_));
  EXPECT_EQ(autoLinks(), 0u);
}

TEST_F(GcRootsTest, ReaperFinishesLeftoversOfAnEarlierRun) {
  makeRoots(gcroots_ / "1", 5);
  ASSERT_TRUE(nix::detachRootDir(gcroots_ / "1").isOk());  // a daemon stopped here
  nix::RootReaper reaper(state_);
  ASSERT_TRUE(reaper.remove(gcroots_ / ".removing-1").isOk());
  reaper.waitIdle();
  EXPECT_TRUE(fs::is_empty(gcroots_));
  EXPECT_EQ(autoLinks(), 0u);
}

TEST_F(GcRootsTest, ReaperRenameFailureKeepsTheRoots) {
  makeRoots(gcroots_ / "1", 2);
  // The detached name is taken by a non-empty directory: rename(2) fails.
  fs::create_directories(gcroots_ / ".removing-1" / "busy");
  nix::RootReaper reaper(state_);
  Status st = reaper.remove(gcroots_ / "1");
  EXPECT_FALSE(st.isOk());
  EXPECT_TRUE(fs::exists(gcroots_ / "1"));
  EXPECT_EQ(autoLinks(), 2u);
}

}  // namespace
}  // namespace nixsnap::testing
