#include "metadata/sqlite_meta_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string_view>

#include "conformance/meta_store_suite.h"
#include "support/test_env.h"

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

TEST(SqliteMetaStoreTest, CreateWithIdTakesThatIdAndLaterIdsGoAboveIt) {
  TempDir dir = makeTempDir();
  auto store = SqliteFactory::make(dir.path());
  {
    auto t = store->begin(false).value();
    EXPECT_EQ(t->lastId().value(), 0);  // fresh database
  }
  {
    auto t = store->begin(true).value();
    auto a = t->createWithId(7, metadata::Kind::Active, "a", "", {{"l", "v"}}, {});
    ASSERT_TRUE(a.isOk()) << a.status().toString();
    EXPECT_EQ(a->id, 7);
    EXPECT_EQ(t->get("a")->info.labels.at("l"), "v");
    // A used id or key is refused, naming it; a non-positive id too.
    EXPECT_EQ(t->createWithId(7, metadata::Kind::Active, "b", "", {}, {}).status().code(),
              ErrorCode::AlreadyExists);
    EXPECT_EQ(t->createWithId(8, metadata::Kind::View, "a", "", {}, {}).status().code(),
              ErrorCode::AlreadyExists);
    EXPECT_EQ(t->createWithId(0, metadata::Kind::Active, "c", "", {}, {}).status().code(),
              ErrorCode::InvalidArgument);
    ASSERT_TRUE(t->commit().isOk());
  }
  {
    auto t = store->begin(true).value();
    auto b = t->create(metadata::Kind::Active, "b", "", {}, {});
    ASSERT_TRUE(b.isOk());
    EXPECT_EQ(b->id, 8);
    ASSERT_TRUE(t->remove("b").isOk());
    ASSERT_TRUE(t->remove("a").isOk());
    ASSERT_TRUE(t->commit().isOk());
  }
  // No record left, but the ids handed out stay counted.
  auto t = store->begin(false).value();
  EXPECT_EQ(t->lastId().value(), 8);
}

// Makes the table b-tree page holding the row whose key is `key` unreadable (its page
// type byte zeroed: SQLITE_CORRUPT when a statement reaches it), after folding the WAL
// into the database file. Keys of ~3000 bytes give each row its own page.
void corruptRowPage(const fs::path& db_path, const std::string& key) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string bytes = readFile(db_path);
  const size_t page = 4096;
  ASSERT_EQ(bytes.size() % page, 0u);
  int hits = 0;
  for (size_t off = page; off < bytes.size(); off += page) {
    std::string_view p(bytes.data() + off, page);
    if (p[0] == 0x0D && p.find(key) != std::string_view::npos) {  // table leaf page
      bytes[off] = 0;
      ++hits;
    }
  }
  ASSERT_EQ(hits, 1) << "want exactly one table leaf holding the row";
  writeFile(db_path, bytes);
}

// A failing read is the statement's error (Internal, with its cause), never NotFound or a
// silently shortened parent chain (which would give Mounts a wrong lowerdir).
TEST(SqliteMetaStoreTest, FailingReadsPropagateTheirErrorAndCode) {
  TempDir dir = makeTempDir();
  const std::string grand(3000, 'g');
  const std::string parent(3000, 'p');
  {
    auto store = SqliteFactory::make(dir.path());
    auto t = store->begin(true).value();
    ASSERT_TRUE(t->create(metadata::Kind::Active, "a1", "", {}, {}).isOk());
    ASSERT_TRUE(t->commitActive("a1", grand, {}, std::nullopt, {}).isOk());
    ASSERT_TRUE(t->create(metadata::Kind::Active, "a2", grand, {}, {}).isOk());
    ASSERT_TRUE(t->commitActive("a2", parent, {}, std::nullopt, {}).isOk());
    ASSERT_TRUE(t->create(metadata::Kind::Active, "c", parent, {}, {}).isOk());
    ASSERT_TRUE(t->commit().isOk());
    auto r = store->begin(false).value()->getActive("c");
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    ASSERT_EQ(r->parent_ids.size(), 2u) << "control: the whole chain before corruption";
  }
  corruptRowPage(dir.path() / "metadata.db", grand);
  auto store = SqliteFactory::make(dir.path());
  auto t = store->begin(false).value();
  ASSERT_TRUE(t->get("c").isOk()) << "the active's own row and its parent's are intact";

  auto active = t->getActive("c");
  ASSERT_FALSE(active.isOk()) << "a shortened chain of " << active->parent_ids.size();
  EXPECT_EQ(active.status().code(), ErrorCode::Internal);
  EXPECT_NE(active.status().message().find("ancestors"), std::string::npos)
      << active.status().message();
  EXPECT_NE(active.status().message().find("malformed"), std::string::npos)
      << active.status().message();

  auto row = t->get(grand);
  EXPECT_EQ(row.status().code(), ErrorCode::Internal) << row.status().toString();
  auto chain = t->ancestors("c");
  EXPECT_EQ(chain.status().code(), ErrorCode::Internal) << chain.status().toString();

  auto w = store->begin(true).value();
  auto dup = w->create(metadata::Kind::Active, "d", grand, {}, {});
  EXPECT_EQ(dup.status().code(), ErrorCode::Internal) << dup.status().toString();
  EXPECT_EQ(dup.status().message().find("missing parent"), std::string::npos)
      << dup.status().message();
}

TEST(SqliteMetaStoreTest, OpenFailsInMissingDirectory) {
  auto s = metadata::openSqliteMetaStore("/nonexistent-dir-nixsnap/metadata.db");
  EXPECT_EQ(s.status().code(), ErrorCode::Internal);
}

}  // namespace
}  // namespace nixsnap::testing
