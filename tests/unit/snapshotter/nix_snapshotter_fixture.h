// Fixture of the Nix-layer tests: an OverlaySnapshotter over SQLite in a temp dir, with a
// StrictMock NixStore and a private store dir of made-up store paths.
#pragma once

#include <gmock/gmock.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "metadata/sqlite_meta_store.h"
#include "mocks/common_mocks.h"
#include "mocks/nix_mocks.h"
#include "snapshotter/overlay_snapshotter.h"
#include "support/test_env.h"

namespace nixsnap::testing {

using snapshotter::Labels;
using snapshotter::Mount;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StrictMock;

inline constexpr char kLayer[] = "containerd.io/snapshot/nix-layer";
inline constexpr char kClosure[] = "containerd.io/snapshot/nix-closure";
inline std::string pathLabel(int i) {
  return "containerd.io/snapshot/nix-store-path." + std::to_string(i);
}

class NixSnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(store_dir_);
    fs::create_directories(root_);
    open();
  }

  /// (Re)opens the snapshotter over root_ with a fresh mock store (a daemon restart).
  void open() {
    sn_.reset();
    auto meta = metadata::openSqliteMetaStore(root_ / "metadata.db");
    ASSERT_TRUE(meta.isOk());
    auto store = std::make_unique<StrictMock<MockNixStore>>();
    store_ = store.get();
    snapshotter::OverlayConfig c;
    c.root = root_;
    c.store_dir = store_dir_;
    auto sn = snapshotter::OverlaySnapshotter::create(c, std::move(*meta), std::move(store),
                                                      std::make_shared<SteppingClock>());
    ASSERT_TRUE(sn.isOk());
    sn_ = std::move(*sn);
  }

  /// A store path "<store>/<hash>-<name>"; hash derived from `n` (valid base32). It
  /// exists on disk (a directory) unless `create` is false.
  std::string sp(int n, const std::string& name = "pkg", bool create = true) {
    std::string hash(32, '0');
    std::string digits = std::to_string(n);
    hash.replace(32 - digits.size(), digits.size(), digits);
    std::string p = store_dir_.string() + "/" + hash + "-" + name;
    if (create && name.find('/') == std::string::npos) {
      fs::create_directories(p);
    }
    return p;
  }
  std::string missing(int n) { return sp(n, "later", false); }
  Mount bind(const std::string& p) { return Mount{"bind", p, p, {"ro", "rbind"}}; }
  std::vector<Mount> binds(const std::vector<Mount>& all) {
    return std::vector<Mount>(all.begin() + 1, all.end());
  }

  /// Every snapshot with store-path labels gets them realised and rooted at Prepare/View.
  void expectRooted(const Labels& labels) {
    if (!snapshotter::NixLayer::storePaths(labels).empty()) {
      EXPECT_CALL(*store_, realise(snapshotter::NixLayer::storePaths(labels), _))
          .WillOnce(Return(Status::ok()));
    }
  }

  /// The writable layer of a Prepare's mounts: a lone bind's source or overlay's upperdir.
  static fs::path upperOf(const std::vector<Mount>& mounts) {
    for (const std::string& o : mounts.front().options) {
      if (o.rfind("upperdir=", 0) == 0) {
        return o.substr(9);
      }
    }
    return mounts.front().source;
  }

  /// What the unpacker does with a Nix layer's tarball: a mountpoint for every path (all
  /// made-up store paths here are directories) in the prepared snapshot.
  static void unpack(const std::vector<Mount>& prepared, const std::vector<std::string>& paths) {
    fs::path upper = upperOf(prepared);
    for (const std::string& p : paths) {
      fs::create_directories(upper / fs::path(p).relative_path());
    }
  }

  /// Commits a non-nix layer with store-path labels (given at Prepare, as the unpacker
  /// does; Commit repeats them).
  void layer(const std::string& name, const std::string& parent, const Labels& labels) {
    expectRooted(labels);
    auto p = sn_->prepare(name + "-a", parent, labels);
    ASSERT_TRUE(p.isOk()) << p.status().toString();
    std::vector<std::string> paths;
    for (const fs::path& sp : snapshotter::NixLayer::storePaths(labels)) {
      paths.push_back(sp.string());
    }
    unpack(*p, paths);
    ASSERT_TRUE(sn_->commit(name, name + "-a", labels).isOk());
  }

  /// A closureInfo-like store path sp(n, "closure-info"): `store-paths` lists `lines`
  /// (each followed by a newline), `registration` is empty.
  std::string closureInfo(int n, const std::vector<std::string>& lines) {
    std::string c = sp(n, "closure-info");
    std::string data;
    for (const std::string& l : lines) {
      data += l + "\n";
    }
    writeFile(c + "/store-paths", data);
    writeFile(c + "/registration", "");
    return c;
  }

  /// Nix's database says the closure of `closure` is `members` plus itself, once.
  void expectRequisites(const std::string& closure, const std::vector<std::string>& members) {
    std::vector<fs::path> out(members.begin(), members.end());
    out.emplace_back(closure);
    EXPECT_CALL(*store_, requisites(fs::path(closure)))
        .WillOnce(Return(Result<std::vector<fs::path>>(out)));
  }

  /// Prepares and commits closure layer `name` on `parent` the way the unpacker does:
  /// one realise of the closure alone, one query of its closure.
  void closureLayer(const std::string& name, const std::string& parent, const std::string& closure,
                    const std::vector<std::string>& members) {
    EXPECT_CALL(*store_, realise(ElementsAre(fs::path(closure)), _)).WillOnce(Return(Status::ok()));
    expectRequisites(closure, members);
    Labels labels{{kClosure, closure}};
    auto p = sn_->prepare(name + "-a", parent, labels);
    ASSERT_TRUE(p.isOk()) << p.status().toString();
    ASSERT_EQ(p->size(), 1u);  // the unpack target gets no binds
    unpack(*p, members);
    ASSERT_TRUE(sn_->commit(name, name + "-a", labels).isOk());
  }

  TempDir dir_ = makeTempDir();
  fs::path store_dir_ = dir_.path() / "store";
  fs::path root_ = dir_.path() / "root";
  StrictMock<MockNixStore>* store_ = nullptr;
  std::unique_ptr<snapshotter::OverlaySnapshotter> sn_;
};

}  // namespace nixsnap::testing
