#pragma once

// Typed conformance suite for snapshotter::Snapshotter implementations, covering the
// situations of containerd's snapshots/testsuite that do not need real mounts: error
// classes, kinds, parents, labels, walk filters, usage, cleanup.
// Use:
//   struct Factory { static SnapshotterPtr make(const fs::path& root); };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Overlay, SnapshotterSuite, ::testing::Types<Factory>);
// Implementations whose first Prepare returns a bind mount of a writable directory (as
// containerd's overlay does) get the usage checks; others skip them.

#include <gtest/gtest.h>

#include <set>

#include "common/temp_dir.h"
#include "snapshotter/snapshotter.h"
#include "support/test_env.h"

namespace nixsnap::testing {

template <typename Factory>
class SnapshotterSuite : public ::testing::Test {
 protected:
  void SetUp() override { sn_ = Factory::make(dir_.path() / "root"); }

  /// Prepares `key` on `parent` and commits it as `name`.
  void layer(const std::string& name, const std::string& parent,
             const snapshotter::Labels& labels = {}) {
    auto m = sn_->prepare(name + "-active", parent, {});
    ASSERT_TRUE(m.isOk()) << m.status().toString();
    ASSERT_TRUE(sn_->commit(name, name + "-active", labels).isOk());
  }

  std::vector<std::string> list(const std::vector<std::string>& filters) {
    std::vector<std::string> out;
    Status st = sn_->walk(filters, [&](const snapshotter::Info& i) {
      out.push_back(i.name);
      return Status::ok();
    });
    EXPECT_TRUE(st.isOk()) << st.toString();
    return out;
  }

  TempDir dir_ = makeTempDir();
  snapshotter::SnapshotterPtr sn_;
};

TYPED_TEST_SUITE_P(SnapshotterSuite);

TYPED_TEST_P(SnapshotterSuite, PrepareStatCommitRemove) {
  auto m = this->sn_->prepare("a", "", {{"l", "v"}});
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_FALSE(m->empty());
  auto info = this->sn_->stat("a");
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->kind, snapshotter::Kind::Active);
  EXPECT_EQ(info->name, "a");
  EXPECT_EQ(info->labels.at("l"), "v");
  ASSERT_TRUE(this->sn_->commit("c", "a", {}).isOk());
  EXPECT_EQ(this->sn_->stat("a").status().code(), ErrorCode::NotFound);
  info = this->sn_->stat("c");
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->kind, snapshotter::Kind::Committed);
  EXPECT_TRUE(info->labels.empty());  // commit replaces labels
  ASSERT_TRUE(this->sn_->remove("c").isOk());
  EXPECT_EQ(this->sn_->stat("c").status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(SnapshotterSuite, PrepareTwiceIsAlreadyExists) {
  ASSERT_TRUE(this->sn_->prepare("a", "", {}).isOk());
  EXPECT_EQ(this->sn_->prepare("a", "", {}).status().code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(this->sn_->view("a", "", {}).status().code(), ErrorCode::AlreadyExists);
  this->layer("c", "");
  EXPECT_EQ(this->sn_->prepare("c", "", {}).status().code(), ErrorCode::AlreadyExists);
}

TYPED_TEST_P(SnapshotterSuite, MissingParentIsNotFound) {
  EXPECT_EQ(this->sn_->prepare("a", "nope", {}).status().code(), ErrorCode::NotFound);
  EXPECT_EQ(this->sn_->view("v", "nope", {}).status().code(), ErrorCode::NotFound);
  EXPECT_EQ(this->sn_->stat("a").status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(SnapshotterSuite, ParentNotCommittedIsInvalidArgument) {
  ASSERT_TRUE(this->sn_->prepare("a", "", {}).isOk());
  EXPECT_EQ(this->sn_->prepare("b", "a", {}).status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(this->sn_->view("v", "a", {}).status().code(), ErrorCode::InvalidArgument);
  this->layer("c", "");
  ASSERT_TRUE(this->sn_->view("v1", "c", {}).isOk());
  EXPECT_EQ(this->sn_->view("v2", "v1", {}).status().code(), ErrorCode::InvalidArgument);
}

TYPED_TEST_P(SnapshotterSuite, CommitOfViewIsFailedPrecondition) {
  this->layer("c", "");
  ASSERT_TRUE(this->sn_->view("v", "c", {}).isOk());
  EXPECT_EQ(this->sn_->commit("n", "v", {}).code(), ErrorCode::FailedPrecondition);
  EXPECT_EQ(this->sn_->commit("n2", "c", {}).code(), ErrorCode::FailedPrecondition);
  EXPECT_EQ(this->sn_->commit("n3", "missing", {}).code(), ErrorCode::NotFound);
  EXPECT_TRUE(this->sn_->stat("v").isOk());
}

TYPED_TEST_P(SnapshotterSuite, CommitToUsedNameIsAlreadyExists) {
  this->layer("c", "");
  ASSERT_TRUE(this->sn_->prepare("a", "", {}).isOk());
  EXPECT_EQ(this->sn_->commit("c", "a", {}).code(), ErrorCode::AlreadyExists);
  EXPECT_TRUE(this->sn_->stat("a").isOk());
}

TYPED_TEST_P(SnapshotterSuite, RemoveWithChildrenIsFailedPrecondition) {
  this->layer("base", "");
  this->layer("mid", "base");
  ASSERT_TRUE(this->sn_->view("v", "mid", {}).isOk());
  EXPECT_EQ(this->sn_->remove("base").code(), ErrorCode::FailedPrecondition);
  EXPECT_EQ(this->sn_->remove("mid").code(), ErrorCode::FailedPrecondition);
  ASSERT_TRUE(this->sn_->remove("v").isOk());
  ASSERT_TRUE(this->sn_->remove("mid").isOk());
  ASSERT_TRUE(this->sn_->remove("base").isOk());
  EXPECT_EQ(this->sn_->remove("base").code(), ErrorCode::NotFound);
}

TYPED_TEST_P(SnapshotterSuite, MountsOfCommittedIsFailedPrecondition) {
  this->layer("c", "");
  EXPECT_EQ(this->sn_->mounts("c").status().code(), ErrorCode::FailedPrecondition);
  EXPECT_EQ(this->sn_->mounts("missing").status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(SnapshotterSuite, MountsRepeatPrepare) {
  this->layer("c", "");
  auto p = this->sn_->prepare("a", "c", {});
  ASSERT_TRUE(p.isOk());
  auto m = this->sn_->mounts("a");
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(*p, *m);
  auto v = this->sn_->view("v", "c", {});
  ASSERT_TRUE(v.isOk());
  EXPECT_EQ(*v, *this->sn_->mounts("v"));
}

TYPED_TEST_P(SnapshotterSuite, ParentIsReportedByStat) {
  this->layer("base", "");
  this->layer("top", "base");
  ASSERT_TRUE(this->sn_->prepare("a", "top", {}).isOk());
  EXPECT_EQ(this->sn_->stat("a")->parent, "top");
  EXPECT_EQ(this->sn_->stat("top")->parent, "base");
  EXPECT_EQ(this->sn_->stat("base")->parent, "");
}

TYPED_TEST_P(SnapshotterSuite, UpdateLabelsAndFieldMask) {
  ASSERT_TRUE(this->sn_->prepare("a", "", {{"keep", "1"}, {"drop", "2"}}).isOk());
  snapshotter::Info in;
  in.name = "a";
  in.labels = {{"new", "3"}};
  auto r = this->sn_->update(in, {"labels.new", "labels.drop"});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->labels, (snapshotter::Labels{{"keep", "1"}, {"new", "3"}}));
  EXPECT_EQ(this->sn_->stat("a")->labels, r->labels);
  r = this->sn_->update(in, {});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->labels, in.labels);
  EXPECT_EQ(this->sn_->update(in, {"name"}).status().code(), ErrorCode::InvalidArgument);
  in.name = "missing";
  EXPECT_EQ(this->sn_->update(in, {}).status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(SnapshotterSuite, UpdateKeepsCreatedAndAdvancesUpdated) {
  ASSERT_TRUE(this->sn_->prepare("a", "", {}).isOk());
  auto before = this->sn_->stat("a");
  snapshotter::Info in;
  in.name = "a";
  in.labels = {{"x", "y"}};
  auto r = this->sn_->update(in, {});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->created, before->created);
  EXPECT_GE(r->updated, before->updated);
  EXPECT_EQ(r->kind, snapshotter::Kind::Active);
}

TYPED_TEST_P(SnapshotterSuite, WalkWithFilters) {
  this->layer("base", "", {{"tier", "gold"}});
  ASSERT_TRUE(this->sn_->prepare("a", "base", {{"tier", "silver"}}).isOk());
  ASSERT_TRUE(this->sn_->view("v", "base", {}).isOk());
  using V = std::vector<std::string>;
  EXPECT_EQ(this->list({}), (V{"a", "base", "v"}));
  EXPECT_EQ(this->list({"kind==committed"}), (V{"base"}));
  EXPECT_EQ(this->list({"kind==view", "kind==committed"}), (V{"base", "v"}));
  EXPECT_EQ(this->list({"parent==base"}), (V{"a", "v"}));
  EXPECT_EQ(this->list({"parent==base,kind!=view"}), (V{"a"}));
  EXPECT_EQ(this->list({"labels.tier==gold"}), (V{"base"}));
  EXPECT_EQ(this->list({"labels.\"tier\"!=gold"}), (V{"a", "v"}));
  EXPECT_EQ(this->list({"labels.tier"}), (V{"a", "base"}));
  EXPECT_EQ(this->list({"name==a"}), (V{"a"}));
  EXPECT_EQ(
      this->sn_->walk({"kind=="}, [](const snapshotter::Info&) { return Status::ok(); }).code(),
      ErrorCode::InvalidArgument);
}

TYPED_TEST_P(SnapshotterSuite, UsageOfActiveIsMeasuredNowAndCommittedAtCommit) {
  auto m = this->sn_->prepare("a", "", {});
  ASSERT_TRUE(m.isOk());
  if (m->size() != 1 || (*m)[0].type != "bind") {
    GTEST_SKIP() << "implementation does not expose its layer as a bind mount";
  }
  auto empty = this->sn_->usage("a");
  ASSERT_TRUE(empty.isOk());
  writeFile(fs::path((*m)[0].source) / "data", std::string(64 * 1024, 'x'));
  auto full = this->sn_->usage("a");
  ASSERT_TRUE(full.isOk());
  EXPECT_GE(full->size_bytes - empty->size_bytes, 64 * 1024);
  EXPECT_EQ(full->inodes, empty->inodes + 1);
  ASSERT_TRUE(this->sn_->commit("c", "a", {}).isOk());
  auto committed = this->sn_->usage("c");
  ASSERT_TRUE(committed.isOk());
  EXPECT_EQ(committed->size_bytes, full->size_bytes);
  EXPECT_EQ(committed->inodes, full->inodes);
  EXPECT_EQ(this->sn_->usage("missing").status().code(), ErrorCode::NotFound);
}

TYPED_TEST_P(SnapshotterSuite, SnapshotRefLabelOfExistingTargetIsAlreadyExists) {
  this->layer("layer-1", "");
  auto r = this->sn_->prepare("extract-1", "", {{snapshotter::kLabelSnapshotRef, "layer-1"}});
  EXPECT_EQ(r.status().code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(this->sn_->stat("extract-1").status().code(), ErrorCode::NotFound);
  EXPECT_TRUE(
      this->sn_->prepare("extract-2", "", {{snapshotter::kLabelSnapshotRef, "layer-2"}}).isOk());
}

TYPED_TEST_P(SnapshotterSuite, CleanupKeepsLiveSnapshots) {
  this->layer("c", "");
  ASSERT_TRUE(this->sn_->prepare("a", "c", {}).isOk());
  ASSERT_TRUE(this->sn_->cleanup().isOk());
  EXPECT_TRUE(this->sn_->stat("c").isOk());
  EXPECT_TRUE(this->sn_->mounts("a").isOk());
  EXPECT_EQ(this->list({}).size(), 2u);
}

TYPED_TEST_P(SnapshotterSuite, ManySnapshotsWalkInKeyOrder) {
  std::set<std::string> want;
  for (int i = 0; i < 250; ++i) {
    std::string k = "k" + std::to_string(i);
    ASSERT_TRUE(this->sn_->prepare(k, "", {}).isOk());
    want.insert(k);
  }
  auto got = this->list({});
  EXPECT_EQ(got, std::vector<std::string>(want.begin(), want.end()));
}

REGISTER_TYPED_TEST_SUITE_P(SnapshotterSuite, PrepareStatCommitRemove, PrepareTwiceIsAlreadyExists,
                            MissingParentIsNotFound, ParentNotCommittedIsInvalidArgument,
                            CommitOfViewIsFailedPrecondition, CommitToUsedNameIsAlreadyExists,
                            RemoveWithChildrenIsFailedPrecondition,
                            MountsOfCommittedIsFailedPrecondition, MountsRepeatPrepare,
                            ParentIsReportedByStat, UpdateLabelsAndFieldMask,
                            UpdateKeepsCreatedAndAdvancesUpdated, WalkWithFilters,
                            UsageOfActiveIsMeasuredNowAndCommittedAtCommit,
                            SnapshotRefLabelOfExistingTargetIsAlreadyExists,
                            CleanupKeepsLiveSnapshots, ManySnapshotsWalkInKeyOrder);

}  // namespace nixsnap::testing
