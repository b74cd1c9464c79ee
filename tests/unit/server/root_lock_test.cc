#include "server/root_lock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/test_env.h"

namespace nixsnap::server {
namespace {

TEST(RootLockTest, CreatesRootAndRefusesASecondHolderUntilReleased) {
  auto dir = testing::makeTempDir();
  const fs::path root = dir.path() / "a" / "root";
  auto first = lockRoot(root);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_TRUE(fs::is_directory(root));
  EXPECT_TRUE(fs::exists(root / kRootLockName));

  auto second = lockRoot(root);
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), ErrorCode::AlreadyExists);
  EXPECT_NE(second.status().message().find(root.string()), std::string::npos);

  first->reset();  // the daemon exits
  auto third = lockRoot(root);
  EXPECT_TRUE(third.isOk()) << third.status().toString();
}

TEST(RootLockTest, ExistingRootKeepsItsContents) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "metadata.db", "x");
  auto lock = lockRoot(dir.path());
  ASSERT_TRUE(lock.isOk());
  EXPECT_EQ(testing::readFile(dir.path() / "metadata.db"), "x");
}

TEST(RootLockTest, RootUnderAFileFails) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "f", "");
  EXPECT_FALSE(lockRoot(dir.path() / "f" / "root").isOk());
}

}  // namespace
}  // namespace nixsnap::server
