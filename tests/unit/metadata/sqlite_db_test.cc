#include "metadata/sqlite_db.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using metadata::sqlite::Db;
using metadata::sqlite::Stmt;

/// Number of statements the connection currently holds (cached plus private).
int liveStatements(sqlite3* db) {
  int n = 0;
  for (sqlite3_stmt* s = sqlite3_next_stmt(db, nullptr); s != nullptr;
       s = sqlite3_next_stmt(db, s)) {
    ++n;
  }
  return n;
}

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Db::open((dir_.path() / "t.db").string());
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    db_ = std::move(*opened);
    ASSERT_TRUE(db_.exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3);").isOk());
  }
  TempDir dir_ = makeTempDir();
  Db db_;
};

TEST_F(SqliteDbTest, SameSqlIsPreparedOnceAndReused) {
  for (int i = 0; i < 3; ++i) {
    Stmt st(db_, "SELECT count(*) FROM t WHERE v > ?");
    st.bind(1, int64_t{1});
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.int64(0), 2);
  }
  EXPECT_EQ(liveStatements(db_.get()), 1);
}

TEST_F(SqliteDbTest, BindingsAreClearedOnRelease) {
  {
    Stmt st(db_, "SELECT ? IS NULL");
    st.bind(1, int64_t{7});
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.int64(0), 0);
  }
  Stmt st(db_, "SELECT ? IS NULL");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64(0), 1);
}

TEST_F(SqliteDbTest, NestedUseOfTheSameSqlGetsItsOwnStatement) {
  Stmt outer(db_, "SELECT v FROM t ORDER BY v");
  int64_t sum = 0;
  while (outer.step()) {
    Stmt inner(db_, "SELECT v FROM t ORDER BY v");
    ASSERT_TRUE(inner.step());
    EXPECT_EQ(inner.int64(0), 1);  // starts from the first row, outer is not disturbed
    sum += outer.int64(0);
  }
  EXPECT_TRUE(outer.status().isOk());
  EXPECT_EQ(sum, 6);
  EXPECT_EQ(liveStatements(db_.get()), 1);  // the private one was finalized
}

TEST_F(SqliteDbTest, ResetReleasesTheReadSoTransactionsCanEnd) {
  ASSERT_TRUE(db_.execCached("BEGIN").isOk());
  {
    Stmt st(db_, "SELECT v FROM t");
    ASSERT_TRUE(st.step());  // left mid-iteration: the release must reset it
  }
  EXPECT_TRUE(db_.execCached("COMMIT").isOk());
  EXPECT_TRUE(db_.execCached("BEGIN").isOk());
  EXPECT_TRUE(db_.execCached("ROLLBACK").isOk());
  EXPECT_EQ(sqlite3_get_autocommit(db_.get()), 1);
}

TEST_F(SqliteDbTest, FailuresNameTheSql) {
  Status st = db_.execCached("COMMIT");  // no transaction open
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_NE(st.message().find("\"COMMIT\""), std::string::npos) << st.message();

  Stmt bad(db_, "SELEKT 1");
  EXPECT_FALSE(bad.valid());
  EXPECT_NE(bad.status().message().find("SELEKT"), std::string::npos);
}

TEST_F(SqliteDbTest, MovedConnectionKeepsItsCache) {
  {
    Stmt st(db_, "SELECT 1");
    ASSERT_TRUE(st.step());
  }
  Db moved = std::move(db_);
  Stmt st(moved, "SELECT 1");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64(0), 1);
  EXPECT_EQ(liveStatements(moved.get()), 1);
}

}  // namespace
}  // namespace nixsnap::testing
