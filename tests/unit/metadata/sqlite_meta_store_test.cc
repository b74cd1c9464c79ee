#include "metadata/sqlite_meta_store.h"

#include <gtest/gtest.h>

#include "conformance/meta_store_suite.h"

namespace nixsnap::testing {
namespace {

struct SqliteFactory {
  static metadata::MetaStorePtr make(const fs::path& dir) {
    auto s = metadata::openSqliteMetaStore(dir / "metadata.db");
    EXPECT_TRUE(s.isOk()) << s.status().toString();
    return std::move(*s);
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, MetaStoreSuite, ::testing::Types<SqliteFactory>);

TEST(SqliteMetaStoreTest, RecordsSurviveReopen) {
  TempDir dir = makeTempDir();
  {
    auto store = SqliteFactory::make(dir.path());
    auto t = store->begin(true).value();
    ASSERT_TRUE(t->create(metadata::Kind::Active, "a", "", {{"x", "y"}}, {}).isOk());
    ASSERT_TRUE(t->commitActive("a", "c", {{"x", "y"}}, std::nullopt, {}).isOk());
    ASSERT_TRUE(t->commit().isOk());
  }
  auto store = SqliteFactory::make(dir.path());
  auto t = store->begin(false).value();
  auto r = t->get("c");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->info.kind, metadata::Kind::Committed);
  EXPECT_EQ(r->info.labels.at("x"), "y");
}

TEST(SqliteMetaStoreTest, ReservedIdsAreNeverHandedOutEvenAfterARollback) {
  TempDir dir = makeTempDir();
  auto store = SqliteFactory::make(dir.path());
  {
    auto t = store->begin(true).value();
    ASSERT_TRUE(t->reserveIds(10).isOk());  // fresh database: no sequence row yet
    auto a = t->create(metadata::Kind::Active, "a", "", {}, {});
    ASSERT_TRUE(a.isOk());
    EXPECT_EQ(a->id, 11);
    ASSERT_TRUE(t->commit().isOk());
  }
  {
    auto t = store->begin(true).value();
    auto b = t->create(metadata::Kind::Active, "b", "", {}, {});
    ASSERT_TRUE(b.isOk());
    EXPECT_EQ(b->id, 12);
  }  // rolled back: without a reservation, 12 would come again
  {
    auto t = store->begin(true).value();
    ASSERT_TRUE(t->reserveIds(12).isOk());
    ASSERT_TRUE(t->reserveIds(5).isOk());  // never lowers
    auto c = t->create(metadata::Kind::Active, "c", "", {}, {});
    ASSERT_TRUE(c.isOk());
    EXPECT_EQ(c->id, 13);
    ASSERT_TRUE(t->commit().isOk());
  }
}

TEST(SqliteMetaStoreTest, OpenFailsInMissingDirectory) {
  auto s = metadata::openSqliteMetaStore("/nonexistent-dir-nixsnap/metadata.db");
  EXPECT_EQ(s.status().code(), ErrorCode::Internal);
}

}  // namespace
}  // namespace nixsnap::testing
