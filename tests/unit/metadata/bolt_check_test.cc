// A root left by the original Go nix-snapshotter (bbolt metadata.db) is named as such.
#include "metadata/bolt_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "metadata/sqlite_meta_store.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using metadata::isBoltDatabase;
using metadata::openSqliteMetaStore;
using metadata::refuseBoltDatabase;
using ::testing::HasSubstr;
using ::testing::Not;

void putLe(std::string& b, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

/// The first page of a fresh bbolt file as bbolt lays it out: page header (id u64, flags
/// u16 = meta 0x04, count u16, overflow u32), then the meta (magic, version 2, page size).
std::string boltFirstPage(bool big_endian = false) {
  std::string b(4096, '\0');
  putLe(b, 8, 0x04, 2);
  putLe(b, 16, metadata::kBoltMagic, 4);
  if (big_endian) {
    std::swap(b[16], b[19]);
    std::swap(b[17], b[18]);
  }
  putLe(b, 20, 2, 4);
  putLe(b, 24, 4096, 4);
  return b;
}

void writeFile(const fs::path& p, const std::string& bytes) {
  std::ofstream(p.string(), std::ios::binary) << bytes;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p.string(), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class BoltCheckTest : public ::testing::Test {
 protected:
  TempDir dir_ = makeTempDir();
  fs::path db_ = dir_.path() / "metadata.db";
};

TEST_F(BoltCheckTest, RecognisesTheOriginalsBoltFileInEitherByteOrder) {
  writeFile(db_, boltFirstPage());
  EXPECT_TRUE(isBoltDatabase(db_));
  writeFile(db_, boltFirstPage(/*big_endian=*/true));
  EXPECT_TRUE(isBoltDatabase(db_));
}

TEST_F(BoltCheckTest, OpeningABoltRootSaysWhatItIsAndWhatToDo) {
  const std::string page = boltFirstPage();
  writeFile(db_, page);
  auto opened = openSqliteMetaStore(db_);
  ASSERT_FALSE(opened.isOk());
  EXPECT_EQ(opened.status().code(), ErrorCode::FailedPrecondition);
  const std::string msg = opened.status().message();
  EXPECT_THAT(msg, HasSubstr(db_.string()));
  EXPECT_THAT(msg, HasSubstr("bbolt"));
  EXPECT_THAT(msg, HasSubstr("original"));
  EXPECT_THAT(msg, HasSubstr("Move the root \"" + dir_.path().string() + "\" away"));
  EXPECT_THAT(msg, HasSubstr("--root"));
  EXPECT_THAT(msg, HasSubstr("pulled or loaded again"));
  EXPECT_THAT(msg, Not(HasSubstr("file is not a database")));
  // Left exactly as found: no WAL, no schema written into it.
  EXPECT_EQ(readFile(db_), page);
  EXPECT_FALSE(fs::exists(dir_.path() / "metadata.db-wal"));
}

TEST_F(BoltCheckTest, OurOwnDatabaseAndAbsentFilesPass) {
  EXPECT_FALSE(isBoltDatabase(db_));
  EXPECT_TRUE(refuseBoltDatabase(db_).isOk());
  {
    auto opened = openSqliteMetaStore(db_);
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  }
  EXPECT_FALSE(isBoltDatabase(db_));
  auto reopened = openSqliteMetaStore(db_);
  EXPECT_TRUE(reopened.isOk()) << reopened.status().toString();
}

TEST_F(BoltCheckTest, ShortOrOtherFilesAreNotBolt) {
  writeFile(db_, boltFirstPage().substr(0, 19));  // magic cut short
  EXPECT_FALSE(isBoltDatabase(db_));
  std::string other = boltFirstPage();
  other[16] = 'x';
  writeFile(db_, other);
  EXPECT_FALSE(isBoltDatabase(db_));
  writeFile(db_, "");
  EXPECT_FALSE(isBoltDatabase(db_));
  EXPECT_FALSE(isBoltDatabase(dir_.path()));  // a directory
}

TEST_F(BoltCheckTest, ASymlinkToABoltFileIsFollowed) {
  writeFile(dir_.path() / "real.db", boltFirstPage());
  fs::create_symlink(dir_.path() / "real.db", db_);
  EXPECT_EQ(refuseBoltDatabase(db_).code(), ErrorCode::FailedPrecondition);
}

}  // namespace
}  // namespace nixsnap::testing
