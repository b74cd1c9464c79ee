#pragma once

// Typed conformance suite for metadata::MetaStore implementations: containerd's
// snapshots/storage MetaStore contract (error classes, parent chains, commit rules).
// Use:
//   struct SqliteFactory { static MetaStorePtr make(const fs::path& dir); };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, MetaStoreSuite, ::testing::Types<SqliteFactory>);

#include <gtest/gtest.h>

#include <optional>

#include "common/temp_dir.h"
#include "metadata/meta_store.h"
#include "support/test_env.h"

namespace nixsnap::testing {

template <typename Factory>
class MetaStoreSuite : public ::testing::Test {
 protected:
  using TimePoint = metadata::TimePoint;
  void SetUp() override { store_ = Factory::make(dir_.path()); }

  metadata::TransactionPtr begin(bool writable) {
    auto t = store_->begin(writable);
    EXPECT_TRUE(t.isOk()) << t.status().toString();
    return std::move(*t);
  }
  TimePoint at(int s) { return TimePoint(std::chrono::seconds(1767225600 + s)); }

  /// committed "c1" <- committed "c2" <- active "a3"; view "v1" on c1.
  void basicChain() {
    auto t = begin(true);
    ASSERT_TRUE(t->create(metadata::Kind::Active, "a1", "", {{"l", "1"}}, at(1)).isOk());
    ASSERT_TRUE(t->commitActive("a1", "c1", {{"c", "1"}}, std::nullopt, at(2)).isOk());
    ASSERT_TRUE(t->create(metadata::Kind::Active, "a2", "c1", {}, at(3)).isOk());
    ASSERT_TRUE(t->commitActive("a2", "c2", {}, metadata::Usage{10, 2}, at(4)).isOk());
    ASSERT_TRUE(t->create(metadata::Kind::Active, "a3", "c2", {}, at(5)).isOk());
    ASSERT_TRUE(t->create(metadata::Kind::View, "v1", "c1", {}, at(6)).isOk());
    ASSERT_TRUE(t->commit().isOk());
  }

  TempDir dir_ = makeTempDir();
  metadata::MetaStorePtr store_;
};

TYPED_TEST_SUITE_P(MetaStoreSuite);

TYPED_TEST_P(MetaStoreSuite, CreateAndGetRoundTripsInfo) {
  auto t = this->begin(true);
  auto s = t->create(metadata::Kind::Active, "k", "", {{"a", "b"}}, this->at(1));
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  EXPECT_GT(s->id, 0);
  EXPECT_TRUE(s->parent_ids.empty());
  auto r = t->get("k");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->id, s->id);
  EXPECT_EQ(r->info.name, "k");
  EXPECT_EQ(r->info.kind, metadata::Kind::Active);
  EXPECT_EQ(r->info.parent, "");
  EXPECT_EQ(r->info.labels, (metadata::Labels{{"a", "b"}}));
  EXPECT_EQ(r->info.created, this->at(1));
  EXPECT_EQ(r->info.updated, this->at(1));
  EXPECT_FALSE(r->usage.has_value());
}

TYPED_TEST_P(MetaStoreSuite, GetMissingIsNotFound) {
  auto t = this->begin(false);
  EXPECT_EQ(t->get("nope").status().code(), ErrorCode::NotFound);
  EXPECT_EQ(t->getActive("nope").status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(MetaStoreSuite, CreateTwiceIsAlreadyExists) {
  auto t = this->begin(true);
  ASSERT_TRUE(t->create(metadata::Kind::Active, "k", "", {}, this->at(1)).isOk());
  EXPECT_EQ(t->create(metadata::Kind::Active, "k", "", {}, this->at(1)).status().code(),
            ErrorCode::AlreadyExists);
  EXPECT_EQ(t->create(metadata::Kind::View, "k", "", {}, this->at(1)).status().code(),
            ErrorCode::AlreadyExists);
}

TYPED_TEST_P(MetaStoreSuite, MissingParentIsNotFound) {
  auto t = this->begin(true);
  EXPECT_EQ(t->create(metadata::Kind::Active, "k", "missing", {}, this->at(1)).status().code(),
            ErrorCode::NotFound);
}

TYPED_TEST_P(MetaStoreSuite, ActiveParentIsInvalidArgument) {
  auto t = this->begin(true);
  ASSERT_TRUE(t->create(metadata::Kind::Active, "p", "", {}, this->at(1)).isOk());
  EXPECT_EQ(t->create(metadata::Kind::Active, "k", "p", {}, this->at(1)).status().code(),
            ErrorCode::InvalidArgument);
  ASSERT_TRUE(t->create(metadata::Kind::View, "v", "", {}, this->at(1)).isOk());
  EXPECT_EQ(t->create(metadata::Kind::View, "k2", "v", {}, this->at(1)).status().code(),
            ErrorCode::InvalidArgument);
}

TYPED_TEST_P(MetaStoreSuite, CreateCommittedKindIsInvalidArgument) {
  auto t = this->begin(true);
  EXPECT_EQ(t->create(metadata::Kind::Committed, "k", "", {}, this->at(1)).status().code(),
            ErrorCode::InvalidArgument);
}

TYPED_TEST_P(MetaStoreSuite, GetActiveOfCommittedIsFailedPrecondition) {
  this->basicChain();
  auto t = this->begin(false);
  EXPECT_EQ(t->getActive("c1").status().code(), ErrorCode::FailedPrecondition);
}

TYPED_TEST_P(MetaStoreSuite, ParentIdsAreNearestFirst) {
  this->basicChain();
  auto t = this->begin(false);
  auto c1 = t->get("c1");
  auto c2 = t->get("c2");
  auto a3 = t->getActive("a3");
  ASSERT_TRUE(a3.isOk());
  EXPECT_EQ(a3->parent_ids, (std::vector<int64_t>{c2->id, c1->id}));
  auto v1 = t->getActive("v1");
  ASSERT_TRUE(v1.isOk());
  EXPECT_EQ(v1->kind, metadata::Kind::View);
  EXPECT_EQ(v1->parent_ids, (std::vector<int64_t>{c1->id}));
  auto anc = t->ancestors("a3");
  ASSERT_TRUE(anc.isOk());
  ASSERT_EQ(anc->size(), 2u);
  EXPECT_EQ((*anc)[0].info.name, "c2");
  EXPECT_EQ((*anc)[1].info.name, "c1");
  EXPECT_EQ((*anc)[1].info.labels, (metadata::Labels{{"c", "1"}}));
}

TYPED_TEST_P(MetaStoreSuite, CommitKeepsIdReplacesLabelsAndRecordsUsage) {
  auto t = this->begin(true);
  auto a = t->create(metadata::Kind::Active, "a", "", {{"old", "x"}}, this->at(1));
  ASSERT_TRUE(a.isOk());
  auto id = t->commitActive("a", "c", {{"new", "y"}}, metadata::Usage{4096, 3}, this->at(7));
  ASSERT_TRUE(id.isOk());
  EXPECT_EQ(*id, a->id);
  EXPECT_EQ(t->get("a").status().code(), ErrorCode::NotFound);
  auto c = t->get("c");
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->info.kind, metadata::Kind::Committed);
  EXPECT_EQ(c->info.labels, (metadata::Labels{{"new", "y"}}));
  EXPECT_EQ(c->info.created, this->at(7));
  ASSERT_TRUE(c->usage.has_value());
  EXPECT_EQ(c->usage->size_bytes, 4096);
  EXPECT_EQ(c->usage->inodes, 3);
}

TYPED_TEST_P(MetaStoreSuite, CommitErrors) {
  this->basicChain();
  auto t = this->begin(true);
  EXPECT_EQ(t->commitActive("a3", "c1", {}, std::nullopt, this->at(9)).status().code(),
            ErrorCode::AlreadyExists);
  EXPECT_EQ(t->commitActive("missing", "n", {}, std::nullopt, this->at(9)).status().code(),
            ErrorCode::NotFound);
  EXPECT_EQ(t->commitActive("v1", "n", {}, std::nullopt, this->at(9)).status().code(),
            ErrorCode::FailedPrecondition);
  EXPECT_EQ(t->commitActive("c2", "n", {}, std::nullopt, this->at(9)).status().code(),
            ErrorCode::FailedPrecondition);
}

TYPED_TEST_P(MetaStoreSuite, ChildrenKeepParentAfterCommitRename) {
  this->basicChain();
  auto t = this->begin(false);
  EXPECT_EQ(t->get("a3")->info.parent, "c2");
  EXPECT_EQ(t->get("c2")->info.parent, "c1");
}

TYPED_TEST_P(MetaStoreSuite, UpdateLabels) {
  this->basicChain();
  auto t = this->begin(true);
  snapshots::Info in;
  in.name = "c1";
  in.labels = {{"c", "2"}, {"d", "3"}};
  auto r = t->update(in, {"labels.d"}, this->at(20));
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->info.labels, (metadata::Labels{{"c", "1"}, {"d", "3"}}));
  EXPECT_EQ(r->info.updated, this->at(20));
  r = t->update(in, {}, this->at(21));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->info.labels, in.labels);
  in.labels = {{"z", "1"}};
  r = t->update(in, {"labels"}, this->at(22));
  EXPECT_EQ(t->get("c1")->info.labels, (metadata::Labels{{"z", "1"}}));
  r = t->update(in, {"labels.z", "labels.gone"}, this->at(23));
  EXPECT_EQ(t->get("c1")->info.labels, (metadata::Labels{{"z", "1"}}));
  in.labels = {};
  r = t->update(in, {"labels.z"}, this->at(24));
  EXPECT_TRUE(t->get("c1")->info.labels.empty());
}

TYPED_TEST_P(MetaStoreSuite, UpdateUnknownFieldIsInvalidArgument) {
  this->basicChain();
  auto t = this->begin(true);
  snapshots::Info in;
  in.name = "c1";
  EXPECT_EQ(t->update(in, {"parent"}, this->at(20)).status().code(), ErrorCode::InvalidArgument);
  in.name = "missing";
  EXPECT_EQ(t->update(in, {}, this->at(20)).status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(MetaStoreSuite, RemoveWithChildrenIsFailedPrecondition) {
  this->basicChain();
  auto t = this->begin(true);
  EXPECT_EQ(t->remove("c1").status().code(), ErrorCode::FailedPrecondition);
  EXPECT_EQ(t->remove("missing").status().code(), ErrorCode::NotFound);
  ASSERT_TRUE(t->remove("a3").isOk());
  ASSERT_TRUE(t->remove("c2").isOk());
  ASSERT_TRUE(t->remove("v1").isOk());
  auto r = t->remove("c1");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->kind, metadata::Kind::Committed);
  auto ids = t->ids();
  ASSERT_TRUE(ids.isOk());
  EXPECT_TRUE(ids->empty());
}

TYPED_TEST_P(MetaStoreSuite, IdsAreNeverReused) {
  int64_t first = 0;
  {
    auto t = this->begin(true);
    first = t->create(metadata::Kind::Active, "a", "", {}, this->at(1))->id;
    ASSERT_TRUE(t->commit().isOk());
  }
  {
    auto t = this->begin(true);
    ASSERT_TRUE(t->remove("a").isOk());
    ASSERT_TRUE(t->commit().isOk());
  }
  auto t = this->begin(true);
  EXPECT_NE(t->create(metadata::Kind::Active, "a", "", {}, this->at(1))->id, first);
}

TYPED_TEST_P(MetaStoreSuite, RollbackUnlessCommitted) {
  {
    auto t = this->begin(true);
    ASSERT_TRUE(t->create(metadata::Kind::Active, "gone", "", {}, this->at(1)).isOk());
  }
  auto t = this->begin(false);
  EXPECT_EQ(t->get("gone").status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(MetaStoreSuite, WalkIsInKeyOrderWithLabels) {
  this->basicChain();
  auto t = this->begin(false);
  std::vector<std::string> names;
  ASSERT_TRUE(t->walk([&](const metadata::Record& r) {
                 names.push_back(r.info.name);
                 if (r.info.name == "c1") {
                   EXPECT_EQ(r.info.labels, (metadata::Labels{{"c", "1"}}));
                 }
                 if (r.info.name == "a3") {
                   EXPECT_EQ(r.info.parent, "c2");
                 }
                 return Status::ok();
               }).isOk());
  EXPECT_EQ(names, (std::vector<std::string>{"a3", "c1", "c2", "v1"}));
  Status st = t->walk([](const metadata::Record&) { return notFound("stop"); });
  EXPECT_EQ(st.code(), ErrorCode::NotFound);
}

TYPED_TEST_P(MetaStoreSuite, SetUsage) {
  this->basicChain();
  auto t = this->begin(true);
  ASSERT_TRUE(t->setUsage("c1", metadata::Usage{1, 2}).isOk());
  EXPECT_EQ(t->get("c1")->usage->inodes, 2);
  EXPECT_EQ(t->setUsage("missing", metadata::Usage{}).code(), ErrorCode::NotFound);
}

TYPED_TEST_P(MetaStoreSuite, ReaderSeesOnlyCommittedState) {
  auto w = this->begin(true);
  ASSERT_TRUE(w->create(metadata::Kind::Active, "k", "", {}, this->at(1)).isOk());
  {
    auto r = this->begin(false);
    EXPECT_EQ(r->get("k").status().code(), ErrorCode::NotFound);
  }
  ASSERT_TRUE(w->commit().isOk());
  auto r = this->begin(false);
  EXPECT_TRUE(r->get("k").isOk());
}

REGISTER_TYPED_TEST_SUITE_P(MetaStoreSuite, CreateAndGetRoundTripsInfo, GetMissingIsNotFound,
                            CreateTwiceIsAlreadyExists, MissingParentIsNotFound,
                            ActiveParentIsInvalidArgument, CreateCommittedKindIsInvalidArgument,
                            GetActiveOfCommittedIsFailedPrecondition, ParentIdsAreNearestFirst,
                            CommitKeepsIdReplacesLabelsAndRecordsUsage, CommitErrors,
                            ChildrenKeepParentAfterCommitRename, UpdateLabels,
                            UpdateUnknownFieldIsInvalidArgument,
                            RemoveWithChildrenIsFailedPrecondition, IdsAreNeverReused,
                            RollbackUnlessCommitted, WalkIsInKeyOrderWithLabels, SetUsage,
                            ReaderSeesOnlyCommittedState);

}  // namespace nixsnap::testing
