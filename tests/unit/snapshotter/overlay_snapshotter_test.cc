#include "snapshotter/overlay_snapshotter.h"

#include <gmock/gmock.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "metadata/sqlite_meta_store.h"
#include "mocks/common_mocks.h"
#include "mocks/nix_mocks.h"
#include "mount/linux_mounter.h"
#include "mount/scoped_mount.h"
#include "snapshotter/factory.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using snapshotter::Mount;

/// The production snapshotter (real nix-store, real mounts) rooted in `dir`.
Result<snapshotter::SnapshotterPtr> openIn(const TempDir& dir) {
  snapshotter::Options o;
  o.root = dir.path() / "root";
  o.nix_state_dir = dir.path() / "nixstate";
  return snapshotter::makeSnapshotter(o);
}
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StrictMock;

class OverlaySnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override { make({}); }

  void make(snapshotter::OverlayConfig config) {
    sn_.reset();
    config.root = root_;
    fs::create_directories(root_);
    auto meta = metadata::openSqliteMetaStore(root_ / "metadata.db");
    ASSERT_TRUE(meta.isOk()) << meta.status().toString();
    auto store = std::make_unique<StrictMock<MockNixStore>>();
    store_ = store.get();
    auto sn = snapshotter::OverlaySnapshotter::create(
        std::move(config), std::move(*meta), std::move(store), std::make_shared<SteppingClock>());
    ASSERT_TRUE(sn.isOk()) << sn.status().toString();
    sn_ = std::move(*sn);
  }

  std::string upper(int64_t id) {
    return (root_ / "snapshots" / std::to_string(id) / "fs").string();
  }
  std::string work(int64_t id) {
    return (root_ / "snapshots" / std::to_string(id) / "work").string();
  }

  void layer(const std::string& name, const std::string& parent, snapshotter::Labels labels = {}) {
    ASSERT_TRUE(sn_->prepare(name + "-a", parent, {}).isOk());
    ASSERT_TRUE(sn_->commit(name, name + "-a", labels).isOk());
  }

  TempDir dir_ = makeTempDir();
  fs::path root_ = dir_.path() / "root";
  StrictMock<MockNixStore>* store_ = nullptr;
  std::unique_ptr<snapshotter::OverlaySnapshotter> sn_;
};

TEST_F(OverlaySnapshotterTest, LabelsOverContainerdSizeLimitAreRejected) {
  snapshotter::Labels big{{"big", std::string(snapshotter::kMaxLabelSize, 'x')}};
  auto m = sn_->prepare("a", "", big);
  EXPECT_EQ(m.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(m.status().message().find("\"big\""), std::string::npos) << m.status().message();
  EXPECT_EQ(sn_->view("v", "", big).status().code(), ErrorCode::InvalidArgument);
  ASSERT_TRUE(sn_->prepare("a", "", {{"ok", std::string(4094, 'x')}}).isOk());
  EXPECT_EQ(sn_->commit("c", "a", big).code(), ErrorCode::InvalidArgument);
  snapshotter::Info in;
  in.name = "a";
  in.labels = big;
  EXPECT_EQ(sn_->update(in, {}).status().code(), ErrorCode::InvalidArgument);
  std::vector<std::string> names;
  ASSERT_TRUE(sn_->walk({"labels.ok~=.*"},
                        [&](const snapshotter::Info& i) {
                          names.push_back(i.name);
                          return Status::ok();
                        })
                  .isOk());
  EXPECT_EQ(names, std::vector<std::string>{"a"});
}

TEST_F(OverlaySnapshotterTest, PrepareWithoutParentIsRwBindOfFs) {
  auto m = sn_->prepare("a", "", {});
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(*m, (std::vector<Mount>{{"bind", upper(1), "", {"rw", "rbind"}}}));
  EXPECT_TRUE(fs::is_directory(upper(1)));
  EXPECT_TRUE(fs::is_directory(work(1)));
  struct stat st {};
  ASSERT_EQ(::stat(upper(1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat(work(1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
}

TEST_F(OverlaySnapshotterTest, ViewWithoutParentIsRoBindWithoutWorkDir) {
  auto m = sn_->view("v", "", {});
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(*m, (std::vector<Mount>{{"bind", upper(1), "", {"ro", "rbind"}}}));
  EXPECT_FALSE(fs::exists(work(1)));
}

TEST_F(OverlaySnapshotterTest, ActiveOnParentsIsOverlayNearestParentFirst) {
  layer("l1", "");                       // id 1
  layer("l2", "l1");                     // id 2
  auto m = sn_->prepare("a", "l2", {});  // id 3
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(*m, (std::vector<Mount>{{"overlay",
                                     "overlay",
                                     "",
                                     {"workdir=" + work(3), "upperdir=" + upper(3),
                                      "lowerdir=" + upper(2) + ":" + upper(1)}}}));
}

TEST_F(OverlaySnapshotterTest, IndexOffComesFirstWhenSupported) {
  snapshotter::OverlayConfig c;
  c.index_off = true;
  make(c);
  layer("l1", "");
  auto m = sn_->prepare("a", "l1", {});
  ASSERT_TRUE(m.isOk());
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].options.front(), "index=off");
}

// Rootless kernel overlayfs: trusted.* xattrs are root-only in a user namespace.
TEST_F(OverlaySnapshotterTest, UserxattrForRootlessKernelOverlayOnly) {
  snapshotter::OverlayConfig c;
  c.index_off = true;
  c.userxattr = true;
  make(c);
  layer("l1", "");
  auto m = sn_->prepare("a", "l1", {});
  ASSERT_TRUE(m.isOk());
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "overlay");
  EXPECT_EQ((*m)[0].options[0], "index=off");
  EXPECT_EQ((*m)[0].options[1], "userxattr");
}

TEST_F(OverlaySnapshotterTest, NoUserxattrWithFuseOverlayfs) {
  snapshotter::OverlayConfig c;
  c.fuse_overlayfs = true;
  c.userxattr = true;
  make(c);
  layer("l1", "");
  auto m = sn_->prepare("a", "l1", {});
  ASSERT_TRUE(m.isOk());
  ASSERT_EQ(m->size(), 1u);
  for (const std::string& o : (*m)[0].options) {
    EXPECT_NE(o, "userxattr");
  }
}

TEST_F(OverlaySnapshotterTest, ViewOfSingleParentIsRoBindOfParent) {
  layer("l1", "");
  auto m = sn_->view("v", "l1", {});
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(*m, (std::vector<Mount>{{"bind", upper(1), "", {"ro", "rbind"}}}));
}

TEST_F(OverlaySnapshotterTest, ViewOfTwoParentsIsLowerOnlyOverlay) {
  layer("l1", "");
  layer("l2", "l1");
  auto m = sn_->view("v", "l2", {});
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(
      *m,
      (std::vector<Mount>{{"overlay", "overlay", "", {"lowerdir=" + upper(2) + ":" + upper(1)}}}));
}

TEST_F(OverlaySnapshotterTest, FuseOverlayfsTypeInPrepareViewAndMounts) {
  snapshotter::OverlayConfig c;
  c.fuse_overlayfs = true;
  c.index_off = true;
  make(c);
  layer("l1", "");
  layer("l2", "l1");
  auto p = sn_->prepare("a", "l2", {});
  auto v = sn_->view("v", "l2", {});
  ASSERT_TRUE(p.isOk());
  ASSERT_TRUE(v.isOk());
  EXPECT_EQ((*p)[0].type, "fuse3.fuse-overlayfs");
  EXPECT_EQ((*v)[0].type, "fuse3.fuse-overlayfs");
  EXPECT_EQ((*sn_->mounts("a"))[0].type, "fuse3.fuse-overlayfs");
  EXPECT_EQ((*p)[0].options.front(), "workdir=" + work(3));  // no index=off for FUSE
}

TEST_F(OverlaySnapshotterTest, FailedPrepareLeavesNoDirectory) {
  ASSERT_TRUE(sn_->prepare("a", "", {}).isOk());
  EXPECT_FALSE(sn_->prepare("a", "", {}).isOk());
  EXPECT_FALSE(sn_->prepare("b", "missing", {}).isOk());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root_ / "snapshots")) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"1"});
}

TEST_F(OverlaySnapshotterTest, RemoveDeletesDirectoryAndRoots) {
  ASSERT_TRUE(sn_->prepare("a", "", {}).isOk());
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "1")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->remove("a").isOk());
  EXPECT_FALSE(fs::exists(root_ / "snapshots" / "1"));
}

TEST_F(OverlaySnapshotterTest, RemoveIsRefusedWhileSomethingIsMountedInside) {
  snapshotter::OverlayConfig c;
  c.mountinfo = dir_.path() / "mountinfo";
  make(c);
  ASSERT_TRUE(sn_->prepare("a", "", {}).isOk());  // id 1
  writeFile(upper(1) + "/keep", "x");
  std::string point = upper(1) + "/proc";
  std::string table =
      "1 0 0:1 / / rw - ext4 /dev/vda rw\n2 1 0:2 / " + point + " rw - proc proc rw\n";
  writeFile(c.mountinfo, table);
  Status st = sn_->remove("a");
  EXPECT_EQ(st.code(), ErrorCode::FailedPrecondition) << st.toString();
  EXPECT_THAT(st.message(), HasSubstr(point));
  // Nothing lost: the record, the directory and its files are still there.
  EXPECT_TRUE(sn_->stat("a").isOk());
  EXPECT_EQ(readFile(upper(1) + "/keep"), "x");
  // An unreadable mount table is an error too, never a blind recursive delete.
  fs::remove(c.mountinfo);
  EXPECT_EQ(sn_->remove("a").code(), ErrorCode::NotFound);
  EXPECT_TRUE(sn_->stat("a").isOk());
  writeFile(c.mountinfo, "1 0 0:1 / / rw - ext4 /dev/vda rw\n");
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "1")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->remove("a").isOk());
  EXPECT_FALSE(fs::exists(upper(1)));
}

TEST_F(OverlaySnapshotterTest, CleanupLeavesMountedOrphansAlone) {
  snapshotter::OverlayConfig c;
  c.mountinfo = dir_.path() / "mountinfo";
  make(c);
  fs::path orphan = root_ / "snapshots" / "77";
  fs::create_directories(orphan / "fs" / "mnt");
  writeFile(orphan / "fs" / "mnt" / "host-file", "precious");
  writeFile(c.mountinfo, "1 0 0:1 / / rw - ext4 /dev/vda rw\n2 1 0:2 / " +
                             (orphan / "fs" / "mnt").string() + " rw - ext4 /dev/vdb rw\n");
  ASSERT_TRUE(sn_->cleanup().isOk());
  EXPECT_EQ(readFile(orphan / "fs" / "mnt" / "host-file"), "precious");
  writeFile(c.mountinfo, "1 0 0:1 / / rw - ext4 /dev/vda rw\n");
  ASSERT_TRUE(sn_->cleanup().isOk());
  EXPECT_FALSE(fs::exists(orphan));
}

TEST_F(OverlaySnapshotterTest, EmptyKeysAndNamesAreInvalid) {
  EXPECT_EQ(sn_->prepare("", "", {}).status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(sn_->view("", "", {}).status().code(), ErrorCode::InvalidArgument);
  ASSERT_TRUE(sn_->prepare("a", "", {}).isOk());
  EXPECT_EQ(sn_->commit("", "a", {}).code(), ErrorCode::InvalidArgument);
  Status same = sn_->commit("a", "a", {});  // the name is the active snapshot's own key
  EXPECT_EQ(same.code(), ErrorCode::AlreadyExists);
  EXPECT_THAT(same.message(), HasSubstr("a snapshot named \"a\" already exists"));
  EXPECT_EQ(sn_->stat("a")->kind, snapshotter::Kind::Active);
  EXPECT_TRUE(fs::is_empty(root_ / "gcroots"));
}

TEST_F(OverlaySnapshotterTest, CleanupFinishesDetachedGcRootFolders) {
  fs::create_directories(root_ / "gcroots" / ".removing-9");
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / ".removing-9"))
      .WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->cleanup().isOk());
}

TEST_F(OverlaySnapshotterTest, CleanupRemovesOrphansOnly) {
  ASSERT_TRUE(sn_->prepare("a", "", {}).isOk());
  fs::create_directories(root_ / "snapshots" / "99" / "fs");
  fs::create_directories(root_ / "snapshots" / "new-abc123" / "fs");
  fs::create_directories(root_ / "gcroots" / "1");
  fs::create_directories(root_ / "gcroots" / "42");
  EXPECT_CALL(*store_, removeRoots(root_ / "gcroots" / "42")).WillOnce(Return(Status::ok()));
  ASSERT_TRUE(sn_->cleanup().isOk());
  EXPECT_TRUE(fs::exists(root_ / "snapshots" / "1"));
  EXPECT_FALSE(fs::exists(root_ / "snapshots" / "99"));
  EXPECT_FALSE(fs::exists(root_ / "snapshots" / "new-abc123"));
}

TEST_F(OverlaySnapshotterTest, OrphanDirectoryWithReusedIdIsReplaced) {
  // A crash after the rename but before the metadata commit leaves snapshots/1 behind,
  // and the id comes back.
  writeFile(root_ / "snapshots" / "1" / "fs" / "stale", "x");
  ASSERT_TRUE(sn_->prepare("a", "", {}).isOk());
  EXPECT_FALSE(fs::exists(root_ / "snapshots" / "1" / "fs" / "stale"));
}

TEST_F(OverlaySnapshotterTest, StateSurvivesRestart) {
  layer("l1", "", {{"k", "v"}});
  ASSERT_TRUE(sn_->prepare("a", "l1", {}).isOk());
  auto before = sn_->mounts("a");
  auto info = sn_->stat("l1");
  make({});
  EXPECT_EQ(*sn_->mounts("a"), *before);
  auto after = sn_->stat("l1");
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(after->labels, info->labels);
  EXPECT_EQ(after->created, info->created);
}

TEST_F(OverlaySnapshotterTest, ChildFsTakesOwnerOfParentFs) {
  layer("l1", "");
  ASSERT_EQ(::chmod(upper(1).c_str(), 0700), 0);
  ASSERT_TRUE(sn_->prepare("a", "l1", {}).isOk());
  struct stat p {
  }, c{};
  ASSERT_EQ(::stat(upper(1).c_str(), &p), 0);
  ASSERT_EQ(::stat(upper(2).c_str(), &c), 0);
  EXPECT_EQ(p.st_uid, c.st_uid);
  EXPECT_EQ(p.st_gid, c.st_gid);
}

}  // namespace
}  // namespace nixsnap::testing

namespace nixsnap::testing {
namespace {

// Real mounts: the returned mounts work with the kernel's overlayfs (root only).
TEST(OverlaySnapshotterRootTest, MountsWorkWithRealOverlayfs) {
  NIXSNAP_REQUIRE_ROOT();
  auto mounter = mount::makeLinuxMounter();
  if (!mounter->supportsOverlay()) {
    GTEST_SKIP() << "kernel has no overlayfs";
  }
  TempDir dir = makeTempDir();
  auto sn = openIn(dir);
  ASSERT_TRUE(sn.isOk());
  auto base = (*sn)->prepare("base-a", "", {});
  ASSERT_TRUE(base.isOk());
  {
    auto m = mount::ScopedMount::create(*mounter, (*base)[0], dir.path() / "m1");
    ASSERT_TRUE(m.isOk()) << m.status().toString();
    writeFile(dir.path() / "m1" / "from-base", "1");
  }
  ASSERT_TRUE((*sn)->commit("base", "base-a", {}).isOk());
  auto top = (*sn)->prepare("top-a", "base", {});
  ASSERT_TRUE(top.isOk());
  ASSERT_EQ((*top)[0].type, "overlay");
  {
    auto m = mount::ScopedMount::create(*mounter, (*top)[0], dir.path() / "m2");
    ASSERT_TRUE(m.isOk()) << m.status().toString();
    EXPECT_EQ(readFile(dir.path() / "m2" / "from-base"), "1");
    writeFile(dir.path() / "m2" / "from-top", "2");
  }
  ASSERT_TRUE((*sn)->commit("top", "top-a", {}).isOk());
  auto view = (*sn)->view("v", "top", {});
  ASSERT_TRUE(view.isOk());
  auto m = mount::ScopedMount::create(*mounter, (*view)[0], dir.path() / "m3");
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(readFile(dir.path() / "m3" / "from-base"), "1");
  EXPECT_EQ(readFile(dir.path() / "m3" / "from-top"), "2");
  auto u = (*sn)->usage("top");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->inodes, 2);  // fs/ and from-top
}

TEST(OverlaySnapshotterRootTest, RemoveNeverDeletesThroughARealMount) {
  NIXSNAP_REQUIRE_ROOT();
  auto mounter = mount::makeLinuxMounter();
  TempDir dir = makeTempDir();
  auto sn = openIn(dir);
  ASSERT_TRUE(sn.isOk());
  auto m = (*sn)->prepare("a", "", {});
  ASSERT_TRUE(m.isOk());
  fs::path precious = dir.path() / "precious";
  writeFile(precious / "file", "keep me");
  fs::path inside = fs::path((*m)[0].source) / "mnt";
  fs::create_directories(inside);
  ASSERT_TRUE(mounter->mount({"bind", precious.string(), "", {"rbind"}}, inside).isOk());
  Status st = (*sn)->remove("a");
  EXPECT_EQ(st.code(), ErrorCode::FailedPrecondition) << st.toString();
  EXPECT_EQ(readFile(precious / "file"), "keep me");
  ASSERT_TRUE(mounter->unmount(inside).isOk());
  ASSERT_TRUE((*sn)->remove("a").isOk());
  EXPECT_EQ(readFile(precious / "file"), "keep me");
}

}  // namespace
}  // namespace nixsnap::testing

namespace nixsnap::testing {
namespace {

TEST(SnapshotterFactoryTest, RootIsNormalisedBeforeItShowsUpInMounts) {
  TempDir dir = makeTempDir();
  fs::create_directories(dir.path() / "x");
  snapshotter::Options o;
  o.root = fs::path(dir.path().string() + "/./x/..//root/");
  o.nix_state_dir = dir.path() / "nixstate";
  auto sn = snapshotter::makeSnapshotter(o);
  ASSERT_TRUE(sn.isOk()) << sn.status().toString();
  auto m = (*sn)->prepare("a", "", {});
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ((*m)[0].source, (dir.path() / "root" / "snapshots" / "1" / "fs").string());
}

TEST(OverlaySnapshotterConcurrencyTest, ParallelClientsSeeConsistentState) {
  TempDir dir = makeTempDir();
  auto sn = openIn(dir);
  ASSERT_TRUE(sn.isOk());
  snapshotter::Snapshotter& s = **sn;
  ASSERT_TRUE(s.prepare("base-a", "", {}).isOk());
  ASSERT_TRUE(s.commit("base", "base-a", {}).isOk());
  constexpr int kThreads = 8;
  constexpr int kEach = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string k = "t" + std::to_string(t) + "-" + std::to_string(i);
        bool ok = s.prepare(k + "-a", "base", {}).isOk() && s.mounts(k + "-a").isOk() &&
                  s.commit(k, k + "-a", {}).isOk() && s.stat(k).isOk() &&
                  s.view(k + "-v", k, {}).isOk() && s.remove(k + "-v").isOk();
        if (!ok) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  int count = 0;
  ASSERT_TRUE(s.walk({"parent==base"}, [&](const snapshotter::Info&) {
                 ++count;
                 return Status::ok();
               }).isOk());
  EXPECT_EQ(count, kThreads * kEach);
}

}  // namespace
}  // namespace nixsnap::testing
