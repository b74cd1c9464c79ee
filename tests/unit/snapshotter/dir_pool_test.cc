// DirPool: ready-made snapshot directories of the right shape.
#include "snapshotter/dir_pool.h"

#include <gmock/gmock.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

mode_t modeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for (fs::directory_iterator it(dir), end; it != end; ++it) {
    ++n;
  }
  return n;
}

/// Waits (up to a generous bound, not a timing assertion) until `pred` holds.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 3000 && !pred(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(DirPoolTest, TakeGivesTheShapeAndModesOfEachKind) {
  TempDir dir = makeTempDir();
  snapshotter::DirPool pool(dir.path() / "pool", 2);
  for (bool with_work : {true, false}) {
    auto d = pool.take(with_work);
    ASSERT_TRUE(d.isOk()) << d.status().toString();
    EXPECT_EQ(d->path().parent_path(), dir.path() / "pool");
    EXPECT_EQ(modeOf(d->path()), 0700u);
    EXPECT_EQ(modeOf(d->path() / "fs"), 0755u);
    EXPECT_TRUE(fs::is_empty(d->path() / "fs"));
    EXPECT_EQ(fs::exists(d->path() / "work"), with_work);
    if (with_work) {
      EXPECT_EQ(modeOf(d->path() / "work"), 0711u);
    }
    EXPECT_EQ(entries(d->path()), with_work ? 2u : 1u);
  }
  EXPECT_EQ(modeOf(dir.path() / "pool"), 0700u);
}

TEST(DirPoolTest, RefillsInTheBackgroundAndCleansUpOnDestruction) {
  TempDir dir = makeTempDir();
  fs::path p = dir.path() / "pool";
  {
    snapshotter::DirPool pool(p, 3);
    ASSERT_TRUE(eventually([&] { return entries(p) == 6; })) << entries(p);
    fs::path kept;
    {
      auto d = pool.take(true);
      ASSERT_TRUE(d.isOk());
      kept = d->path();
      fs::rename(kept, dir.path() / "taken");  // as a Prepare renames it into place
      d->keep();
    }
    EXPECT_TRUE(fs::exists(dir.path() / "taken" / "work"));
    ASSERT_TRUE(eventually([&] { return entries(p) == 6; })) << entries(p);
  }
  EXPECT_TRUE(fs::is_empty(p));  // ready directories go with the pool
}

TEST(DirPoolTest, LeftoversOfAnEarlierRunAreDeleted) {
  TempDir dir = makeTempDir();
  fs::path p = dir.path() / "pool";
  fs::create_directories(p / "abc123" / "fs");
  snapshotter::DirPool pool(p, 0);
  EXPECT_FALSE(fs::exists(p / "abc123"));
  auto d = pool.take(false);  // depth 0: built on the caller's thread
  ASSERT_TRUE(d.isOk());
  EXPECT_TRUE(fs::is_directory(d->path() / "fs"));
}

TEST(DirPoolTest, UnusablePoolDirectoryFailsTake) {
  TempDir dir = makeTempDir();
  writeFile(dir.path() / "file", "x");
  snapshotter::DirPool pool(dir.path() / "file" / "pool", 2);
  EXPECT_FALSE(pool.take(true).isOk());
}

}  // namespace
}  // namespace nixsnap::testing
