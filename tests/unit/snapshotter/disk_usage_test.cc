#include "snapshotter/disk_usage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

TEST(DiskUsageTest, CountsEachInodeOnceIncludingTheRoot) {
  TempDir dir = makeTempDir();
  auto empty = snapshotter::diskUsage(dir.path());
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(empty->inodes, 1);
  writeFile(dir.path() / "sub" / "a", std::string(10000, 'a'));
  ASSERT_EQ(::link((dir.path() / "sub" / "a").c_str(), (dir.path() / "hard").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (dir.path() / "sym").c_str()), 0);
  auto u = snapshotter::diskUsage(dir.path());
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->inodes, 4);  // root, sub, a (== hard), sym
  EXPECT_GE(u->size_bytes - empty->size_bytes, 10000);
  EXPECT_LT(u->size_bytes - empty->size_bytes, 10000 + 4 * 8192 + 8192);
}

TEST(DiskUsageTest, MissingDirectoryIsNotFound) {
  EXPECT_EQ(snapshotter::diskUsage("/nonexistent-nixsnap-dir").status().code(),
            ErrorCode::NotFound);
}

}  // namespace
}  // namespace nixsnap::testing
