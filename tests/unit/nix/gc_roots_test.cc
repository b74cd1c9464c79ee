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
  /// Roots for `n` made-up store paths in `dir`, each also registered the way Nix's
  /// addIndirectRoot does (a link in auto/ naming the root), to see them dangle.
  void makeRoots(const fs::path& dir, int n) {
    fs::create_directories(dir);
    fs::create_directories(auto_);
    for (int i = 0; i < n; ++i) {
      fs::path p =
          "/nix/store/" + std::string(31, 'b') + std::to_string(i % 10) + "-p" + std::to_string(i);
      ASSERT_TRUE(nix::makeRootLink(dir / p.filename(), p).isOk());
      fs::create_symlink(dir / p.filename(),
                         auto_ / (dir.filename().string() + "-" + std::to_string(i)));
    }
  }
  /// Registrations whose root still exists (what Nix's collector would count).
  size_t liveRegistrations() {
    size_t n = 0;
    for (fs::directory_iterator it(auto_), end; it != end; ++it) {
      n += fs::is_symlink(fs::symlink_status(fs::read_symlink(it->path())));
    }
    return n;
  }
  TempDir dir_ = makeTempDir();
  fs::path auto_ = dir_.path() / "state" / "gcroots" / "auto";
  fs::path gcroots_ = dir_.path() / "gcroots";
};

TEST_F(GcRootsTest, DetachRenamesSoEveryRegistrationDangles) {
  makeRoots(gcroots_ / "5", 3);
  auto d = nix::detachRootDir(gcroots_ / "5");
  ASSERT_TRUE(d.isOk()) << d.status().toString();
  EXPECT_EQ(*d, gcroots_ / ".removing-5");
  EXPECT_FALSE(fs::exists(gcroots_ / "5"));
  for (fs::directory_iterator it(auto_), end; it != end; ++it) {
    EXPECT_TRUE(fs::is_symlink(it->path()));
    EXPECT_FALSE(fs::exists(it->path())) << "registration still resolves: " << it->path();
  }
  // A retry on the detached folder keeps it; a missing folder is an empty path.
  EXPECT_EQ(*nix::detachRootDir(*d), *d);
  EXPECT_TRUE(nix::detachRootDir(gcroots_ / "6")->empty());
}

TEST_F(GcRootsTest, MakeRootLinkKeepsAnIdenticalLinkAndRefusesAnother) {
  fs::create_directories(gcroots_);
  fs::path p = "/nix/store/" + std::string(32, 'a') + "-a";
  ASSERT_TRUE(nix::makeRootLink(gcroots_ / "a", p).isOk());
  EXPECT_TRUE(nix::makeRootLink(gcroots_ / "a", p).isOk());
  EXPECT_EQ(nix::makeRootLink(gcroots_ / "a", p.string() + "x").code(), ErrorCode::AlreadyExists);
  ASSERT_TRUE(nix::removeRootLink(gcroots_ / "a").isOk());
  EXPECT_FALSE(fs::is_symlink(gcroots_ / "a"));
  EXPECT_TRUE(nix::removeRootLink(gcroots_ / "a").isOk());  // missing is fine
}

TEST_F(GcRootsTest, RemoveDetachedDeletesEntriesAndFolder) {
  makeRoots(gcroots_ / "5", 4);
  makeRoots(gcroots_ / "6", 2);  // another snapshot's roots stay
  auto d = nix::detachRootDir(gcroots_ / "5");
  ASSERT_TRUE(d.isOk());
  ASSERT_TRUE(nix::removeDetachedRootDir(*d).isOk());
  EXPECT_FALSE(fs::exists(*d));
  EXPECT_EQ(liveRegistrations(), 2u);
  EXPECT_TRUE(fs::exists(gcroots_ / "6"));
}

TEST_F(GcRootsTest, RemoveDetachedCanStopEarlyAndFinishLater) {
  makeRoots(gcroots_ / "5", 10);
  auto d = nix::detachRootDir(gcroots_ / "5");
  ASSERT_TRUE(d.isOk());
  int budget = 3;
  ASSERT_TRUE(nix::removeDetachedRootDir(*d, [&] { return budget-- > 0; }).isOk());
  EXPECT_TRUE(fs::exists(*d));
  EXPECT_EQ(std::distance(fs::directory_iterator(*d), fs::directory_iterator()), 7);
  ASSERT_TRUE(nix::removeDetachedRootDir(*d).isOk());
  EXPECT_FALSE(fs::exists(*d));
}

TEST_F(GcRootsTest, ReaperDetachesAtOnceAndFinishesInTheBackground) {
  makeRoots(gcroots_ / "1", 50);
  makeRoots(gcroots_ / "2", 50);
  nix::RootReaper reaper;
  ASSERT_TRUE(reaper.remove(gcroots_ / "1").isOk());
  ASSERT_TRUE(reaper.remove(gcroots_ / "2").isOk());
  EXPECT_FALSE(fs::exists(gcroots_ / "1"));
  EXPECT_FALSE(fs::exists(gcroots_ / "2"));
  EXPECT_EQ(liveRegistrations(), 0u);                 // at return, whatever the thread has done
  EXPECT_TRUE(reaper.remove(gcroots_ / "3").isOk());  // missing
  reaper.waitIdle();
  EXPECT_TRUE(fs::is_empty(gcroots_));
}

TEST_F(GcRootsTest, ReaperFinishesLeftoversOfAnEarlierRun) {
  makeRoots(gcroots_ / "1", 5);
  ASSERT_TRUE(nix::detachRootDir(gcroots_ / "1").isOk());  // a daemon stopped here
  nix::RootReaper reaper;
  ASSERT_TRUE(reaper.remove(gcroots_ / ".removing-1").isOk());
  reaper.waitIdle();
  EXPECT_TRUE(fs::is_empty(gcroots_));
}

TEST_F(GcRootsTest, ReaperRenameFailureKeepsTheRoots) {
  makeRoots(gcroots_ / "1", 2);
  // The detached name is taken by a non-empty directory: rename(2) fails.
  fs::create_directories(gcroots_ / ".removing-1" / "busy");
  nix::RootReaper reaper;
  Status st = reaper.remove(gcroots_ / "1");
  EXPECT_FALSE(st.isOk());
  EXPECT_TRUE(fs::exists(gcroots_ / "1"));
  EXPECT_EQ(liveRegistrations(), 2u);
}

}  // namespace
}  // namespace nixsnap::testing
