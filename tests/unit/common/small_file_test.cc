#include "common/small_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "support/test_env.h"

namespace nixsnap {
namespace {

using ::testing::HasSubstr;

TEST(SmallFileTest, ReadsTheWholeFileUpToTheLimit) {
  auto dir = testing::makeTempDir();
  const std::string data("a\0b\n", 4);
  testing::writeFile(dir.path() / "f", data);
  auto text = readSmallFile(dir.path() / "f", 4);
  ASSERT_TRUE(text.isOk()) << text.status().toString();
  EXPECT_EQ(*text, data);
}

TEST(SmallFileTest, LargerThanTheLimitIsInvalidNamingSizeAndLimit) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "f", "12345");
  auto text = readSmallFile(dir.path() / "f", 4);
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("is 5 bytes, more than the limit of 4"));
  EXPECT_THAT(text.status().message(), HasSubstr((dir.path() / "f").string()));
}

TEST(SmallFileTest, FifoAndDirectoryAreRefusedWithoutBlocking) {
  auto dir = testing::makeTempDir();
  ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), 0600), 0);
  for (const char* name : {"fifo", "."}) {
    auto text = readSmallFile(dir.path() / name, 1 << 20);
    ASSERT_FALSE(text.isOk()) << name;
    EXPECT_EQ(text.status().code(), ErrorCode::InvalidArgument) << name;
    EXPECT_THAT(text.status().message(), HasSubstr("not a regular file")) << name;
  }
}

TEST(SmallFileTest, SymlinkIsRefusedUnlessFollowed) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "target", "x");
  ASSERT_EQ(::symlink((dir.path() / "target").c_str(), (dir.path() / "link").c_str()), 0);
  EXPECT_FALSE(readSmallFile(dir.path() / "link", 16).isOk());
  auto text = readSmallFile(dir.path() / "link", 16, /*follow_symlinks=*/true);
  ASSERT_TRUE(text.isOk()) << text.status().toString();
  EXPECT_EQ(*text, "x");
}

TEST(SmallFileTest, MissingFileIsNotFound) {
  auto dir = testing::makeTempDir();
  EXPECT_EQ(readSmallFile(dir.path() / "absent", 16).status().code(), ErrorCode::NotFound);
}

}  // namespace
}  // namespace nixsnap
