// The Nix layer of the overlay snapshotter: labels -> GC roots and bind mounts.
#include <gmock/gmock.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "snapshotter/nix_snapshotter_fixture.h"

namespace nixsnap::testing {
namespace {

using snapshotter::Labels;
using snapshotter::Mount;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StrictMock;

TEST_F(NixSnapshotterTest, PrepareWithNixLayerLabelCreatesGcRoots) {
  Labels labels{{kLayer, "true"}, {pathLabel(1), sp(2)}, {pathLabel(0), sp(1)}};
  EXPECT_CALL(*store_,
              realise(ElementsAre(fs::path(sp(1)), fs::path(sp(2))), root_ / "gcroots" / "1"))
      .WillOnce(Return(Status::ok()));
  auto m = sn_->prepare("nix", "", labels);
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  // The unpacker writes the mountpoints into it: only the plain mount.
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "bind");
  EXPECT_EQ(sn_->mounts("nix")->size(), 1u);
}

TEST_F(NixSnapshotterTest, RealiseOrderIsSortedLabelKeyOrder) {
  Labels labels{{kLayer, "true"}};
  std::vector<fs::path> want;
  std::map<std::string, std::string> sorted;
  for (int i = 0; i < 12; ++i) {
    labels[pathLabel(i)] = sp(100 + i);
    sorted[pathLabel(i)] = sp(100 + i);
  }
  for (const auto& [k, v] : sorted) {
    want.emplace_back(v);
  }
  EXPECT_CALL(*store_, realise(want, _)).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->prepare("nix", "", labels).isOk());
}

TEST_F(NixSnapshotterTest, RealiseFailureFailsPrepareWithNixErrorAndLeavesNothing) {
  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}};
  EXPECT_CALL(*store_, realise(_, _))
      .WillOnce(Return(
          Status(ErrorCode::NotFound, "nix-store exited 1: error: don't know how to build")));
  auto m = sn_->prepare("nix", "", labels);
  EXPECT_EQ(m.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("don't know how to build"));
  EXPECT_THAT(m.status().message(), HasSubstr("\"nix\""));
  EXPECT_EQ(sn_->stat("nix").status().code(), ErrorCode::NotFound);
  EXPECT_TRUE(fs::is_empty(root_ / "snapshots"));
}

TEST_F(NixSnapshotterTest, IdsOfFailedPreparesAreNeverReused) {
  // gcroots/<id> of a failed Prepare may still be being removed in the background; the
  // next snapshot must not get the same folder.
  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}};
  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "1"))
      .WillOnce(Return(Status(ErrorCode::Internal, "nix-store exited 1")));
  EXPECT_FALSE(sn_->prepare("a", "", labels).isOk());
  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "2")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->prepare("b", "", labels).isOk());
}

TEST_F(NixSnapshotterTest, RootsLeftByACrashedPrepareKeepTheirIdFromNewSnapshots) {
  // A daemon killed inside a Prepare: roots under gcroots/5, no record, id 5 not recorded.
  fs::create_directories(root_ / "gcroots" / "5");
  fs::create_directories(root_ / "gcroots" / ".removing-9");
  open();
  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}};
  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "10")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->prepare("a", "", labels).isOk());
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "5")).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / ".removing-9"))
      .WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->cleanup().isOk());
}

TEST_F(NixSnapshotterTest, HostileLabelsAreRejectedBeforeAnything) {
  fs::create_directories(dir_.path() / "outside");
  std::string evil = store_dir_.string() + "/" + std::string(32, 'a') + "-evil";
  ASSERT_EQ(::symlink((dir_.path() / "outside").c_str(), evil.c_str()), 0);
  const std::vector<std::string> bad = {
      "/etc",         sp(1) + "/..",
      sp(1) + "/bin", store_dir_.string() + "/../etc",
      evil,           store_dir_.string() + "/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x",
      sp(1, ".dot"),  "",
  };
  for (const std::string& p : bad) {
    Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}, {pathLabel(7), p}};
    auto m = sn_->prepare("k", "", labels);
    EXPECT_EQ(m.status().code(), ErrorCode::InvalidArgument) << p;
    EXPECT_THAT(m.status().message(), HasSubstr(pathLabel(7))) << p;
    EXPECT_EQ(sn_->view("v", "", {{pathLabel(3), p}}).status().code(), ErrorCode::InvalidArgument);
  }
  ASSERT_TRUE(sn_->prepare("a", "", {}).isOk());
  EXPECT_EQ(sn_->commit("c", "a", {{pathLabel(0), "/etc"}}).code(), ErrorCode::InvalidArgument);
  snapshotter::Info in;
  in.name = "a";
  in.labels = {{pathLabel(0), "/etc"}};
  EXPECT_EQ(sn_->update(in, {}).status().code(), ErrorCode::InvalidArgument);
  EXPECT_TRUE(sn_->stat("a")->labels.empty());
  EXPECT_TRUE(fs::is_empty(root_ / "gcroots"));
}

TEST_F(NixSnapshotterTest, HugeLabelSetIsRejectedWhenOneIsBad) {
  Labels labels{{kLayer, "true"}};
  for (int i = 0; i < 5000; ++i) {
    labels[pathLabel(i)] = sp(i);
  }
  labels[pathLabel(4999)] = "/nix/store/../../etc/shadow";
  EXPECT_EQ(sn_->prepare("k", "", labels).status().code(), ErrorCode::InvalidArgument);
}

TEST_F(NixSnapshotterTest, PrepareViewAndMountsAppendBindsAcrossAncestorsDeduplicated) {
  layer("base", "", {{pathLabel(0), sp(1)}, {pathLabel(1), sp(2)}});
  layer("mid", "base", {{pathLabel(0), sp(3)}, {pathLabel(1), sp(1)}});
  expectRooted({{pathLabel(0), sp(4)}, {pathLabel(1), sp(2)}});
  auto p = sn_->prepare("a", "mid", {{pathLabel(0), sp(4)}, {pathLabel(1), sp(2)}});
  ASSERT_TRUE(p.isOk());
  // Own paths first, then nearest parent's, each once.
  EXPECT_EQ(binds(*p), (std::vector<Mount>{bind(sp(4)), bind(sp(2)), bind(sp(3)), bind(sp(1))}));
  EXPECT_EQ(*sn_->mounts("a"), *p);
  auto v = sn_->view("v", "mid", {});
  ASSERT_TRUE(v.isOk());
  EXPECT_EQ(binds(*v), (std::vector<Mount>{bind(sp(3)), bind(sp(1)), bind(sp(2))}));
}

TEST_F(NixSnapshotterTest, CommitOfNixLayerKeepsItsLabelsForChildren) {
  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}};
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->prepare("nix", "", labels).isOk());
  ASSERT_TRUE(sn_->commit("layer", "nix", {}).isOk());
  EXPECT_EQ(sn_->stat("layer")->labels, labels);
  auto m = sn_->prepare("container", "layer", {});
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(binds(*m), (std::vector<Mount>{bind(sp(1))}));
}

TEST_F(NixSnapshotterTest, RemoveDeletesGcRootsOfTheSnapshot) {
  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}};
  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "1")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->prepare("nix", "", labels).isOk());
  ASSERT_TRUE(sn_->commit("layer", "nix", labels).isOk());
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "1")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->remove("layer").isOk());
}

TEST_F(NixSnapshotterTest, UpdateCannotChangeStorePathLabels) {
  layer("base", "", {{pathLabel(0), sp(1)}});
  ASSERT_TRUE(sn_->prepare("a", "base", {}).isOk());
  EXPECT_EQ(binds(*sn_->mounts("a")), (std::vector<Mount>{bind(sp(1))}));
  snapshotter::Info in;
  in.name = "base";
  in.labels = {{pathLabel(0), sp(9)}};
  for (const std::vector<std::string>& mask :
       {std::vector<std::string>{}, {"labels"}, {"labels." + pathLabel(0)}}) {
    auto u = sn_->update(in, mask);
    EXPECT_EQ(u.status().code(), ErrorCode::InvalidArgument) << u.status().toString();
    EXPECT_THAT(u.status().message(), HasSubstr(pathLabel(0)));
  }
  in.labels = {{pathLabel(1), sp(8)}};
  EXPECT_EQ(sn_->update(in, {"labels." + pathLabel(1)}).status().code(),
            ErrorCode::InvalidArgument);
  in.labels = {{kLayer, "true"}};
  EXPECT_EQ(sn_->update(in, {"labels." + std::string(kLayer)}).status().code(),
            ErrorCode::InvalidArgument);
  // Nothing was written: labels and binds are as before.
  EXPECT_EQ(sn_->stat("base")->labels, (Labels{{pathLabel(0), sp(1)}}));
  EXPECT_EQ(binds(*sn_->mounts("a")), (std::vector<Mount>{bind(sp(1))}));
  // Other labels can still change, alongside unchanged store-path labels.
  in.labels = {{"x", "1"}, {pathLabel(0), sp(1)}};
  auto u = sn_->update(in, {});
  ASSERT_TRUE(u.isOk()) << u.status().toString();
  EXPECT_EQ(u->labels, in.labels);
  in.labels = {{"y", "2"}, {pathLabel(9), "/etc/passwd"}};  // outside the mask: ignored
  auto y = sn_->update(in, {"labels.y"});
  ASSERT_TRUE(y.isOk()) << y.status().toString();
  EXPECT_EQ(y->labels.count(pathLabel(9)), 0u);
  EXPECT_EQ(binds(*sn_->mounts("a")), (std::vector<Mount>{bind(sp(1))}));
}

TEST_F(NixSnapshotterTest, StorePathsOfPlainSnapshotsAndViewsAreRootedToo) {
  // Bound into containers, so kept alive like a nix layer's (review finding: a plain
  // snapshot's or a view's paths were bound but collectable).
  EXPECT_CALL(*store_, realise(ElementsAre(fs::path(sp(1))), root_ / "gcroots" / "1"))
      .WillOnce(Return(Status::ok()));
  auto p = sn_->prepare("plain", "", {{pathLabel(0), sp(1)}});
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  EXPECT_EQ(binds(*p), (std::vector<Mount>{bind(sp(1))}));
  EXPECT_CALL(*store_, realise(ElementsAre(fs::path(sp(2))), root_ / "gcroots" / "2"))
      .WillOnce(Return(Status::ok()));
  auto v = sn_->view("v", "", {{kLayer, "true"}, {pathLabel(0), sp(2)}});
  ASSERT_TRUE(v.isOk()) << v.status().toString();
  EXPECT_EQ(binds(*v), (std::vector<Mount>{bind(sp(2))}));
  // A failed realisation fails the View and leaves nothing.
  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "3"))
      .WillOnce(Return(Status(ErrorCode::NotFound, "don't know how to build")));
  EXPECT_EQ(sn_->view("w", "", {{pathLabel(0), sp(3)}}).status().code(), ErrorCode::NotFound);
  EXPECT_EQ(sn_->stat("w").status().code(), ErrorCode::NotFound);
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "2")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->remove("v").isOk());
}

TEST_F(NixSnapshotterTest, CommitCannotAddOrChangeStorePathLabels) {
  ASSERT_TRUE(sn_->prepare("plain", "", {}).isOk());
  // A path added at Commit would be mounted without being realised or rooted.
  Status st = sn_->commit("c", "plain", {{pathLabel(0), sp(1)}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << st.toString();
  EXPECT_THAT(st.message(), HasSubstr(pathLabel(0)));
  EXPECT_EQ(sn_->stat("c").status().code(), ErrorCode::NotFound);
  EXPECT_EQ(sn_->stat("plain")->kind, snapshotter::Kind::Active);

  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(2)}};
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->prepare("nix", "", labels).isOk());
  EXPECT_EQ(sn_->commit("n", "nix", {{kLayer, "true"}, {pathLabel(0), sp(3)}}).code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(sn_->commit("n", "nix", {{kLayer, "true"}}).code(), ErrorCode::InvalidArgument);
  // The same labels again (containerd's unpacker repeats them) are fine.
  ASSERT_TRUE(sn_->commit("n", "nix", labels).isOk());
  EXPECT_EQ(sn_->stat("n")->labels, labels);
}

TEST_F(NixSnapshotterTest, CommitOfPlainLayerKeepsStorePathLabelsOfPrepare) {
  EXPECT_CALL(*store_, realise(ElementsAre(fs::path(sp(1))), root_ / "gcroots" / "1"))
      .WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->prepare("a", "", {{pathLabel(0), sp(1)}, {"x", "1"}}).isOk());
  ASSERT_TRUE(sn_->commit("c", "a", {{"y", "2"}}).isOk());
  EXPECT_EQ(sn_->stat("c")->labels, (Labels{{pathLabel(0), sp(1)}, {"y", "2"}}));
  auto m = sn_->prepare("top", "c", {});
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(binds(*m), (std::vector<Mount>{bind(sp(1))}));
}

TEST_F(NixSnapshotterTest, MountsOnDeepChainWithThousandsOfLabels) {
  constexpr int kDepth = 16;
  constexpr int kPerLayer = 100;  // 16,000 binds: bench/mounts_chain_bench
  std::string parent;
  for (int d = 0; d < kDepth; ++d) {
    Labels labels;
    for (int i = 0; i < kPerLayer; ++i) {
      labels[pathLabel(i)] = sp(d * kPerLayer + i);
    }
    std::string name = "l" + std::to_string(d);
    layer(name, parent, labels);
    parent = name;
  }
  ASSERT_TRUE(sn_->prepare("top", parent, {}).isOk());
  // Speed is bench/mounts_chain_bench's business; here: the exact list, twice (cached).
  for (int i = 0; i < 2; ++i) {
    auto m = sn_->mounts("top");
    ASSERT_TRUE(m.isOk());
    ASSERT_EQ(m->size(), 1u + kDepth * kPerLayer);
    EXPECT_EQ((*m)[1], bind(sp((kDepth - 1) * kPerLayer)));  // nearest layer first
    EXPECT_EQ(m->back(), bind(sp(kPerLayer - 1)));
  }
}

TEST_F(NixSnapshotterTest, RealisedPathThatIsSymlinkOutOfStoreFailsPrepareAndLeavesNothing) {
  fs::create_directories(dir_.path() / "outside");
  std::string evil = missing(66);
  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}, {pathLabel(3), evil}};
  // A hostile cache substitutes the missing path as a symlink to the host.
  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "1"))
      .WillOnce(::testing::Invoke([&](const std::vector<fs::path>&, const fs::path&) {
        EXPECT_EQ(::symlink((dir_.path() / "outside").c_str(), evil.c_str()), 0);
        return Status::ok();
      }));
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "1")).WillOnce(Return(Status::ok()));
  auto m = sn_->prepare("nix", "", labels);
  EXPECT_EQ(m.status().code(), ErrorCode::InvalidArgument) << m.status().toString();
  EXPECT_THAT(m.status().message(), HasSubstr(pathLabel(3)));
  EXPECT_EQ(sn_->stat("nix").status().code(), ErrorCode::NotFound);
  EXPECT_TRUE(fs::is_empty(root_ / "snapshots"));
}

TEST_F(NixSnapshotterTest, RealisedPathStillMissingFailsPrepare) {
  Labels labels{{kLayer, "true"}, {pathLabel(0), missing(7)}};
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  auto m = sn_->prepare("nix", "", labels);
  EXPECT_EQ(m.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr(pathLabel(0)));
}

TEST_F(NixSnapshotterTest, BindsOfMissingOrEscapingStorePathsAreRefused) {
  // Present at Prepare and Commit, deleted from the store while the daemon was down.
  std::string later = sp(5, "later");
  layer("base", "", {{pathLabel(0), sp(1)}, {pathLabel(1), later}});
  fs::remove_all(later);
  open();
  auto p = sn_->prepare("a", "base", {});
  EXPECT_EQ(p.status().code(), ErrorCode::FailedPrecondition) << p.status().toString();
  EXPECT_THAT(p.status().message(), HasSubstr(later));
  EXPECT_EQ(sn_->stat("a").status().code(), ErrorCode::NotFound);
  EXPECT_EQ(sn_->view("v", "base", {}).status().code(), ErrorCode::FailedPrecondition);
  // Its own missing path is realised first (the mock leaves it missing): refused, unrooted.
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_EQ(sn_->prepare("own", "", {{pathLabel(0), missing(8)}}).status().code(),
            ErrorCode::InvalidArgument);
  // Substituted later as a symlink to the host: still refused.
  fs::create_directories(dir_.path() / "outside");
  ASSERT_EQ(::symlink((dir_.path() / "outside").c_str(), later.c_str()), 0);
  p = sn_->prepare("a", "base", {});
  EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument) << p.status().toString();
  EXPECT_THAT(p.status().message(), HasSubstr(later));
}

TEST_F(NixSnapshotterTest, MountsAfterRestartRechecksStorePaths) {
  std::string path = sp(5);
  layer("base", "", {{pathLabel(0), path}});
  ASSERT_TRUE(sn_->prepare("a", "base", {}).isOk());
  ASSERT_TRUE(sn_->mounts("a").isOk());
  open();
  fs::remove_all(path);
  fs::create_directories(dir_.path() / "outside");
  ASSERT_EQ(::symlink((dir_.path() / "outside").c_str(), path.c_str()), 0);
  auto m = sn_->mounts("a");
  EXPECT_EQ(m.status().code(), ErrorCode::InvalidArgument) << m.status().toString();
  EXPECT_THAT(m.status().message(), HasSubstr(path));
}

}  // namespace
}  // namespace nixsnap::testing
