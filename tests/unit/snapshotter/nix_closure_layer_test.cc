// The closure-layer format: label containerd.io/snapshot/nix-closure names a closureInfo
// output; one GC root on it, binds from its store-paths file.
#include <gmock/gmock.h>
#include <unistd.h>

#include "snapshotter/nix_closure.h"
#include "snapshotter/nix_snapshotter_fixture.h"

namespace nixsnap::testing {
namespace {

using ::testing::AnyNumber;

class NixClosureLayerTest : public NixSnapshotterTest {
 protected:
  std::vector<Mount> bindsOf(const std::vector<std::string>& ps) {
    std::vector<Mount> out;
    for (const std::string& p : ps) {
      out.push_back(bind(p));
    }
    return out;
  }
};

TEST_F(NixClosureLayerTest, PrepareRootsOnlyTheClosureAndChildrenBindEveryListedPath) {
  std::vector<std::string> members{sp(3, "c"), sp(1, "a"), sp(2, "b")};
  std::string c = closureInfo(50, members);
  EXPECT_CALL(*store_, realise(ElementsAre(fs::path(c)), root_ / "gcroots" / "1"))
      .WillOnce(Return(Status::ok()));
  expectRequisites(c, members);  // once: the file is read once for every later use
  Labels labels{{kClosure, c}};
  auto p = sn_->prepare("unpack", "", labels);
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  EXPECT_EQ(p->size(), 1u);  // the unpacker writes the mountpoints: no binds over them
  EXPECT_EQ(sn_->mounts("unpack")->size(), 1u);
  unpack(*p, members);
  ASSERT_TRUE(sn_->commit("layer", "unpack", {}).isOk());
  EXPECT_EQ(sn_->stat("layer")->labels, labels);  // kept for the children
  auto m = sn_->prepare("container", "layer", {});
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(binds(*m), bindsOf(members));  // file order
  EXPECT_EQ(*sn_->mounts("container"), *m);
  auto v = sn_->view("view", "layer", {});
  ASSERT_TRUE(v.isOk()) << v.status().toString();
  EXPECT_EQ(binds(*v), bindsOf(members));
}

TEST_F(NixClosureLayerTest, RepeatedLinesAreBoundOnce) {
  std::string a = sp(1, "a"), b = sp(2, "b");
  closureLayer("layer", "", closureInfo(50, {a, b, a}), {a, b});
  auto m = sn_->prepare("container", "layer", {});
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(binds(*m), bindsOf({a, b}));
}

TEST_F(NixClosureLayerTest, HostileStorePathsLinesAreRefusedAndTheRootRolledBack) {
  std::string a = sp(1, "a");
  std::string stranger = sp(7, "not-in-closure");
  fs::create_directories(dir_.path() / "outside");
  std::string escape = sp(8, "escape", false);
  ASSERT_EQ(::symlink((dir_.path() / "outside").c_str(), escape.c_str()), 0);
  struct Case {
    std::string content;
    std::string named;  // what the message must quote
  };
  const std::vector<Case> cases = {
      {a + "\n/etc\n", "line 2"},
      {a + "\n" + store_dir_.string() + "/../etc\n", "line 2"},
      {store_dir_.string() + "/" + std::string(32, '1') + "-a/..\n", "line 1"},
      {a + "/bin\n", "line 1"},
      {stranger + "\n", stranger},
      {a + "\n\n" + a + "\n", "line 2"},
      {"registration of another tool\n", "line 1"},
      {escape + "\n", escape},  // in the closure (says the mock) but a symlink to the host
  };
  int id = 0;
  for (const Case& k : cases) {
    std::string c = closureInfo(50, {});
    writeFile(c + "/store-paths", k.content);
    ++id;
    fs::path roots = root_ / "gcroots" / std::to_string(id);
    EXPECT_CALL(*store_, realise(ElementsAre(fs::path(c)), roots)).WillOnce(Return(Status::ok()));
    expectRequisites(c, {a, escape});
    EXPECT_CALL(*store_, removeRoots(roots)).WillOnce(Return(Status::ok()));
    auto p = sn_->prepare("unpack", "", {{kClosure, c}});
    EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument) << k.content;
    EXPECT_THAT(p.status().message(), HasSubstr(k.named)) << p.status().toString();
    EXPECT_THAT(p.status().message(), HasSubstr(c));
    EXPECT_EQ(sn_->stat("unpack").status().code(), ErrorCode::NotFound);
    ::testing::Mock::VerifyAndClearExpectations(store_);
  }
  EXPECT_TRUE(fs::is_empty(root_ / "snapshots"));
}

TEST_F(NixClosureLayerTest, HugeStorePathsFileIsRefused) {
  std::string c = closureInfo(50, {});
  {
    std::ofstream out(c + "/store-paths", std::ios::binary | std::ios::trunc);
    std::string line = sp(1, "a", false) + "\n";
    for (size_t n = 0; n <= snapshotter::kMaxClosureFileBytes; n += line.size()) {
      out << line;
    }
  }
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  expectRequisites(c, {});
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "1")).WillOnce(Return(Status::ok()));
  auto p = sn_->prepare("unpack", "", {{kClosure, c}});
  EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("more than the limit"));
}

TEST_F(NixClosureLayerTest, PathsThatAreNoClosureInfoAreRefused) {
  std::string file = sp(60, "plain-file", false);
  writeFile(file, "#!/bin/sh\n");
  std::string no_list = sp(61, "no-store-paths");
  writeFile(no_list + "/registration", "");
  std::string no_reg = sp(62, "no-registration");
  writeFile(no_reg + "/store-paths", sp(1) + "\n");
  std::string linked = sp(63, "linked-list");
  writeFile(linked + "/registration", "");
  writeFile((dir_.path() / "host-list").string(), sp(1) + "\n");
  ASSERT_EQ(::symlink((dir_.path() / "host-list").c_str(), (linked + "/store-paths").c_str()), 0);
  std::string dir_list = sp(64, "dir-list");
  writeFile(dir_list + "/registration", "");
  fs::create_directories(dir_list + "/store-paths");
  int id = 0;
  for (const std::string& c : {file, no_list, no_reg, linked, dir_list}) {
    fs::path roots = root_ / "gcroots" / std::to_string(++id);
    EXPECT_CALL(*store_, realise(ElementsAre(fs::path(c)), roots)).WillOnce(Return(Status::ok()));
    expectRequisites(c, {sp(1)});
    EXPECT_CALL(*store_, removeRoots(roots)).WillOnce(Return(Status::ok()));
    auto p = sn_->prepare("unpack", "", {{kClosure, c}});
    EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument) << c;
    EXPECT_THAT(p.status().message(), HasSubstr("not a closureInfo output")) << c;
    EXPECT_THAT(p.status().message(), HasSubstr(c));
    ::testing::Mock::VerifyAndClearExpectations(store_);
  }
  EXPECT_TRUE(fs::is_empty(root_ / "snapshots"));
}

TEST_F(NixClosureLayerTest, HostileClosureLabelIsRefusedBeforeAnything) {
  fs::create_directories(dir_.path() / "outside");
  std::string evil = store_dir_.string() + "/" + std::string(32, 'a') + "-evil";
  ASSERT_EQ(::symlink((dir_.path() / "outside").c_str(), evil.c_str()), 0);
  for (const std::string& bad :
       {std::string("/etc"), sp(1) + "/..", store_dir_.string() + "/../etc", evil, sp(1) + "/",
        std::string()}) {
    auto p = sn_->prepare("unpack", "", {{kClosure, bad}});
    EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument) << bad;
    EXPECT_THAT(p.status().message(), HasSubstr(kClosure)) << bad;
    EXPECT_EQ(sn_->view("v", "", {{kClosure, bad}}).status().code(), ErrorCode::InvalidArgument);
  }
  EXPECT_TRUE(fs::is_empty(root_ / "gcroots"));
  EXPECT_TRUE(fs::is_empty(root_ / "snapshots"));
}

TEST_F(NixClosureLayerTest, RealiseOrQueryFailureFailsPrepareWithNixError) {
  std::string c = closureInfo(50, {sp(1)});
  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "1"))
      .WillOnce(Return(Status(ErrorCode::NotFound, "nix-store exited 1: don't know how to build")));
  auto p = sn_->prepare("unpack", "", {{kClosure, c}});
  EXPECT_EQ(p.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(p.status().message(), HasSubstr("don't know how to build"));

  EXPECT_CALL(*store_, realise(_, root_ / "gcroots" / "2")).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, requisites(fs::path(c)))
      .WillOnce(Return(Result<std::vector<fs::path>>(
          Status(ErrorCode::Unavailable, "nix-store: command not found"))));
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "2")).WillOnce(Return(Status::ok()));
  p = sn_->prepare("unpack", "", {{kClosure, c}});
  EXPECT_EQ(p.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(p.status().message(), HasSubstr("command not found"));
  EXPECT_EQ(sn_->stat("unpack").status().code(), ErrorCode::NotFound);
}

TEST_F(NixClosureLayerTest, LegacyAndClosureLayersMixInOneChain) {
  std::string shared = sp(1, "glibc"), legacy_only = sp(2, "bash"), closure_only = sp(3, "hello");
  Labels legacy{{kLayer, "true"}, {pathLabel(0), shared}, {pathLabel(1), legacy_only}};
  EXPECT_CALL(*store_, realise(ElementsAre(fs::path(shared), fs::path(legacy_only)), _))
      .WillOnce(Return(Status::ok()));
  auto lp = sn_->prepare("legacy-a", "", legacy);
  ASSERT_TRUE(lp.isOk());
  unpack(*lp, {shared, legacy_only});
  ASSERT_TRUE(sn_->commit("legacy", "legacy-a", {}).isOk());
  std::string c = closureInfo(50, {closure_only, shared});
  closureLayer("closure", "legacy", c, {closure_only, shared});
  std::string c2 = closureInfo(51, {sp(4, "top")});
  closureLayer("closure2", "closure", c2, {sp(4, "top")});
  auto m = sn_->prepare("container", "closure2", {});
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  // Nearest layer first, each path once.
  EXPECT_EQ(binds(*m), bindsOf({sp(4, "top"), closure_only, shared, legacy_only}));
  // A legacy layer on top of closure layers, too.
  Labels top{{kLayer, "true"}, {pathLabel(0), sp(5, "extra")}};
  EXPECT_CALL(*store_, realise(ElementsAre(fs::path(sp(5, "extra"))), _))
      .WillOnce(Return(Status::ok()));
  auto tp = sn_->prepare("legacy2-a", "closure2", top);
  ASSERT_TRUE(tp.isOk());
  unpack(*tp, {sp(5, "extra")});
  ASSERT_TRUE(sn_->commit("legacy2", "legacy2-a", {}).isOk());
  auto v = sn_->view("v", "legacy2", {});
  ASSERT_TRUE(v.isOk()) << v.status().toString();
  EXPECT_EQ(binds(*v), bindsOf({sp(5, "extra"), sp(4, "top"), closure_only, shared, legacy_only}));
}

TEST_F(NixClosureLayerTest, MountsAfterRestartReadAndCheckTheFileAgain) {
  std::string a = sp(1, "a");
  std::string c = closureInfo(50, {a});
  closureLayer("layer", "", c, {a});
  ASSERT_TRUE(sn_->prepare("container", "layer", {}).isOk());
  open();
  expectRequisites(c, {a});
  auto m = sn_->mounts("container");
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(binds(*m), bindsOf({a}));
  ASSERT_TRUE(sn_->mounts("container").isOk());  // cached again: no second query
  // The database no longer lists it (never happens to a rooted valid path): refused.
  open();
  EXPECT_CALL(*store_, requisites(fs::path(c)))
      .WillOnce(Return(Result<std::vector<fs::path>>(std::vector<fs::path>{fs::path(c)})));
  m = sn_->mounts("container");
  EXPECT_EQ(m.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr(a));
}

TEST_F(NixClosureLayerTest, RemoveForgetsTheClosureAndItsRoot) {
  std::string a = sp(1, "a");
  std::string c = closureInfo(50, {a});
  closureLayer("layer", "", c, {a});
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "1")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->remove("layer").isOk());
  // A later layer with the same closure reads the file again (nothing stale is kept).
  closureLayer("again", "", c, {a});
}

TEST_F(NixClosureLayerTest, ClosureLabelIsFixedAfterPrepare) {
  std::string c = closureInfo(50, {sp(1)});
  std::string other = closureInfo(51, {sp(2)});
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  expectRequisites(c, {sp(1)});
  ASSERT_TRUE(sn_->prepare("unpack", "", {{kClosure, c}}).isOk());
  Status st = sn_->commit("layer", "unpack", {{kClosure, other}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr(kClosure));
  ASSERT_TRUE(sn_->commit("layer", "unpack", {{kClosure, c}}).isOk());
  snapshotter::Info in;
  in.name = "layer";
  in.labels = {};
  EXPECT_EQ(sn_->update(in, {"labels." + std::string(kClosure)}).status().code(),
            ErrorCode::InvalidArgument);
  // Added later to a plain snapshot: refused too (it would be bound without a root).
  ASSERT_TRUE(sn_->prepare("plain", "", {}).isOk());
  EXPECT_EQ(sn_->commit("p", "plain", {{kClosure, c}}).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(sn_->stat("layer")->labels, (Labels{{kClosure, c}}));
}

TEST_F(NixClosureLayerTest, ViewWithClosureLabelRootsAndBindsIt) {
  std::string a = sp(1, "a");
  std::string c = closureInfo(50, {a});
  EXPECT_CALL(*store_, realise(ElementsAre(fs::path(c)), root_ / "gcroots" / "1"))
      .WillOnce(Return(Status::ok()));
  expectRequisites(c, {a});
  auto v = sn_->view("v", "", {{kClosure, c}});
  ASSERT_TRUE(v.isOk()) << v.status().toString();
  EXPECT_EQ(binds(*v), bindsOf({a}));
}

TEST_F(NixClosureLayerTest, LayerWithoutMountpointsGetsThemInTheContainersUpper) {
  // Another builder's image: the closure layer's tarball has no mountpoints (#101).
  std::string a = sp(1, "a");
  std::string file = sp(2, "script", false);
  writeFile(file, "#!/bin/sh\n");
  std::string c = closureInfo(50, {a, file});
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  expectRequisites(c, {a, file});
  ASSERT_TRUE(sn_->prepare("unpack", "", {{kClosure, c}}).isOk());
  ASSERT_TRUE(sn_->commit("layer", "unpack", {}).isOk());
  // A read-only view of it cannot get them: refused, naming the first.
  auto v = sn_->view("view", "layer", {});
  EXPECT_EQ(v.status().code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(v.status().message(), HasSubstr(a));
  EXPECT_EQ(sn_->stat("view").status().code(), ErrorCode::NotFound);
  // The container's own layer gets them, of the right types.
  auto m = sn_->prepare("container", "layer", {});
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  fs::path upper = upperOf(*m);
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(upper / fs::path(a).relative_path())));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(upper / fs::path(file).relative_path())));
  EXPECT_EQ(binds(*m), bindsOf({a, file}));
}

TEST_F(NixClosureLayerTest, ClosureOfAThousandPathsIsOneRealiseAndOneQuery) {
  std::vector<std::string> members;
  for (int i = 0; i < 1000; ++i) {  // two inodes each here; 10,000 is bench/s business
    members.push_back(sp(1000 + i, "p"));
  }
  // Speed is bench/'s business; here: one realise of one path, one query, every bind.
  closureLayer("layer", "", closureInfo(50, members), members);
  auto m = sn_->prepare("container", "layer", {});
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  ASSERT_EQ(m->size(), 1u + members.size());
  EXPECT_EQ((*m)[1], bind(members.front()));
  EXPECT_EQ(m->back(), bind(members.back()));
}

}  // namespace
}  // namespace nixsnap::testing
