// Fault-injection walk over the overlay snapshotter (issue 12): for every operation
// (Prepare, View, Commit, Remove, Mounts, Cleanup) and n = 1, 2, ... until the operation
// passes fewer than n fault points, the n-th fault point fails: a metadata call or
// commit (FaultyMetaStore), a filesystem call or fsync (support/fault_syscalls.cc), or a
// Nix store call (the NixStore double). Each failing run must return an error carrying
// the injected cause and leave Stat/List/Mounts, the snapshot directories, the GC root
// folders and the directory pool exactly as before the call. A fault the operation
// deliberately outlives (past its commit point: Remove's directory deletion, Cleanup's
// per-orphan deletions) must leave exactly the state after the call once Cleanup ran.
// The fault points are counted, not listed, so the walk follows the code as it changes.
#include <gmock/gmock.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "metadata/sqlite_meta_store.h"
#include "mocks/common_mocks.h"
#include "mocks/nix_mocks.h"
#include "snapshotter/overlay_snapshotter.h"
#include "support/fault_plan.h"
#include "support/faulty_meta_store.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using snapshotter::Kind;
using snapshotter::Labels;
using ::testing::_;
using ::testing::Invoke;
using ::testing::NiceMock;

constexpr char kPath1[] = "containerd.io/snapshot/nix-store-path.1";

/// One snapshotter over a fresh root, with a NixStore double that keeps its GC root
/// folders on disk (as nix-store --add-root would) and counts its calls as fault points.
class World {
 public:
  explicit World(const fs::path& store_dir) : store_dir_(store_dir) {
    fs::create_directories(root_);
    reopen();
  }

  /// A daemon restart: a new snapshotter (empty caches) over the same root.
  void reopen() {
    sn_.reset();
    auto meta = metadata::openSqliteMetaStore(root_ / "metadata.db");
    ASSERT_TRUE(meta.isOk()) << meta.status().toString();
    auto store = std::make_unique<NiceMock<MockNixStore>>();
    ON_CALL(*store, realise(_, _))
        .WillByDefault(Invoke([](const std::vector<fs::path>& paths, const fs::path& dir) {
          if (FaultPlan::global().hit("nix realise")) {
            return internalError("injected nix fault at realise");
          }
          FaultPlan::Quiet quiet;  // nix-store writes these, in its own process
          fs::create_directories(dir);
          for (const fs::path& p : paths) {
            fs::create_symlink(p, dir / p.filename());
          }
          return Status::ok();
        }));
    ON_CALL(*store, removeRoots(_)).WillByDefault(Invoke([](const fs::path& dir) {
      if (FaultPlan::global().hit("nix removeRoots")) {
        return internalError("injected nix fault at removeRoots");
      }
      FaultPlan::Quiet quiet;
      fs::remove_all(dir);
      return Status::ok();
    }));
    snapshotter::OverlayConfig c;
    c.root = root_;
    c.store_dir = store_dir_;
    c.dir_pool_depth = 0;  // every directory is built on the calling thread: counted
    auto sn = snapshotter::OverlaySnapshotter::create(
        c, std::make_unique<FaultyMetaStore>(std::move(*meta), FaultPlan::global()),
        std::move(store), std::make_shared<SteppingClock>());
    ASSERT_TRUE(sn.isOk()) << sn.status().toString();
    sn_ = std::move(*sn);
  }

  /// What a client and the disk can tell about the snapshots (times left out: the
  /// clock ticks differ between runs), with the root's path replaced by "<root>".
  std::string state() {
    std::ostringstream out;
    std::vector<snapshotter::Info> infos;
    Status st = sn_->walk({}, [&](const snapshotter::Info& i) {
      infos.push_back(i);
      return Status::ok();
    });
    out << "list: " << st.toString() << "\n";
    for (const snapshotter::Info& i : infos) {
      out << "  " << i.name << " kind=" << static_cast<int>(i.kind) << " parent=" << i.parent;
      for (const auto& [k, v] : i.labels) {
        out << " " << k << "=" << v;
      }
      Result<snapshotter::Info> s = sn_->stat(i.name);
      out << "\n    stat: " << (s.isOk() ? s->name : s.status().toString());
      Result<std::vector<snapshotter::Mount>> m = sn_->mounts(i.name);
      out << "\n    mounts: ";
      if (!m.isOk()) {
        out << errorCodeName(m.status().code());
      } else {
        for (const snapshotter::Mount& mt : *m) {
          out << "[" << mt.type << " " << mt.source << " " << mt.target;
          for (const std::string& o : mt.options) {
            out << " " << o;
          }
          out << "] ";
        }
      }
      out << "\n";
    }
    for (const char* sub : {"snapshots", "gcroots", "pool"}) {
      out << sub << ":";
      std::set<std::string> names;
      boost::system::error_code ec;
      for (fs::recursive_directory_iterator it(root_ / sub, ec), end; !ec && it != end;
           it.increment(ec)) {
        names.insert(fs::relative(it->path(), root_ / sub).string());
      }
      for (const std::string& n : names) {
        out << " " << n;
      }
      out << "\n";
    }
    std::string s = out.str();
    for (size_t at; (at = s.find(root_.string())) != std::string::npos;) {
      s.replace(at, root_.string().size(), "<root>");
    }
    return s;
  }

  TempDir dir_ = makeTempDir();
  fs::path root_ = dir_.path() / "root";
  fs::path store_dir_;
  std::unique_ptr<snapshotter::OverlaySnapshotter> sn_;
};

struct Scenario {
  std::string name;
  std::function<void(World&)> setup;  ///< builds the state before the call (no faults)
  std::function<Status(World&)> call;
  /// Cleanup: each orphan's deletion is a step of its own (a recursive delete cannot be
  /// undone), so a failed call must leave the records alone and a retry must finish.
  bool retry_finishes = false;
};

class FaultWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(store_dir_);
    fs::create_directories(storePath(1));
    fs::create_directories(storePath(2));
  }

  std::string storePath(int n) const {
    return (store_dir_ / (std::string(31, '0') + std::to_string(n) + "-pkg")).string();
  }

  /// Committed "p" (rooting storePath(1)), active "a" on it with storePath(2) and a
  /// file in its layer, view "v" on "p".
  void base(World& w) {
    ASSERT_TRUE(w.sn_->prepare("p-a", "", {{kPath1, storePath(1)}}).isOk());
    ASSERT_TRUE(w.sn_->commit("p", "p-a", {{kPath1, storePath(1)}}).isOk());
    auto a = w.sn_->prepare("a", "p", {{"containerd.io/snapshot/nix-store-path.2", storePath(2)}});
    ASSERT_TRUE(a.isOk()) << a.status().toString();
    writeFile(w.sn_->upperPath(3) / "file", "data");
    ASSERT_TRUE(w.sn_->view("v", "p", {}).isOk());
  }

  /// The part of a state() Stat, List and Mounts show (not the disk listing).
  static std::string records(const std::string& state) {
    return state.substr(0, state.find("\nsnapshots:"));
  }

  /// Walks `sc`: the clean run first (its state is the "after"), then n = 1, 2, ...
  void walk(const Scenario& sc) {
    std::string before;
    std::string after;
    int points = 0;
    {
      World w(store_dir_);
      sc.setup(w);
      w.reopen();
      before = w.state();
      FaultPlan::global().arm(0);
      Status st = sc.call(w);
      points = FaultPlan::global().disarm();
      ASSERT_TRUE(st.isOk()) << sc.name << " without faults: " << st.toString();
      after = w.state();
      ASSERT_NE(before, after) << sc.name << " changed nothing the walk can see";
    }
    ASSERT_GT(points, 0) << sc.name;
    std::vector<std::string> outlived;
    std::vector<std::string> recovered;
    for (int n = 1; n <= points; ++n) {
      World w(store_dir_);
      sc.setup(w);
      w.reopen();
      ASSERT_EQ(w.state(), before) << sc.name << ": setup is not repeatable";
      FaultPlan::global().arm(n);
      Status st = sc.call(w);
      FaultPlan::global().disarm();
      std::string failed = FaultPlan::global().failed();
      ASSERT_FALSE(failed.empty()) << sc.name << " passed fewer fault points than its clean run";
      std::string where =
          sc.name + ", fault " + std::to_string(n) + "/" + std::to_string(points) + " at " + failed;
      bool past_commit = FaultPlan::global().failedPastCommit();
      if (!st.isOk()) {
        EXPECT_THAT(st.message(), ::testing::AnyOf(::testing::HasSubstr("injected"),
                                                   ::testing::HasSubstr("Input/output error")))
            << where << ": the error lost its cause: " << st.toString();
        if (sc.retry_finishes) {
          EXPECT_EQ(records(w.state()), records(before)) << where << " changed the records";
          Status again = sc.call(w);
          ASSERT_TRUE(again.isOk()) << where << ", retried: " << again.toString();
          EXPECT_EQ(w.state(), after) << where << ": the retry did not finish the job";
          continue;
        }
        if (!past_commit) {
          EXPECT_EQ(w.state(), before) << where << " returned " << st.toString()
                                       << " but did not leave the state before the call";
          continue;
        }
      } else if (!past_commit) {
        // Recovered before its commit point (e.g. a rename retried): a clean result.
        EXPECT_EQ(w.state(), after) << where << " returned Ok but its state is not the after state";
        recovered.push_back(failed);
        continue;
      }
      // Past the commit point the call took effect, whatever it returns; at most orphans
      // for Cleanup (containerd's garbage collection calls it) may be left.
      outlived.push_back(failed + (st.isOk() ? "" : "(error)"));
      if (w.state() != after) {
        Status cleaned = w.sn_->cleanup();
        if (!cleaned.isOk()) {
          // After a failed WAL sync every write fails until a restart (sticky).
          w.reopen();
          cleaned = w.sn_->cleanup();
        }
        ASSERT_TRUE(cleaned.isOk()) << where << ": " << cleaned.toString();
      }
      EXPECT_EQ(w.state(), after) << where << " passed its commit point but its state "
                                  << "(after Cleanup) is not the after state";
    }
    std::cout << sc.name << ": " << points << " fault points";
    if (!outlived.empty()) {
      std::cout << "; past the commit point:";
      for (const std::string& o : outlived) {
        std::cout << " " << o;
      }
    }
    if (!recovered.empty()) {
      std::cout << "; recovered:";
      for (const std::string& o : recovered) {
        std::cout << " " << o;
      }
    }
    std::cout << "\n";
  }

  TempDir dir_ = makeTempDir();
  fs::path store_dir_ = dir_.path() / "store";
};

TEST_F(FaultWalkTest, PrepareOnParentWithStorePaths) {
  walk({"Prepare", [&](World& w) { base(w); },
        [&](World& w) {
          return w.sn_->prepare("b", "p", {{kPath1, storePath(2)}}).status();
        }});
}

TEST_F(FaultWalkTest, PrepareWithoutParent) {
  walk({"Prepare (no parent)", [&](World& w) { base(w); },
        [&](World& w) { return w.sn_->prepare("b", "", {}).status(); }});
}

TEST_F(FaultWalkTest, PrepareNixLayer) {
  walk({"Prepare (nix layer)", [&](World& w) { base(w); },
        [&](World& w) {
          return w.sn_
              ->prepare("n", "p", {{snapshotter::kLabelNixLayer, "true"}, {kPath1, storePath(2)}})
              .status();
        }});
}

TEST_F(FaultWalkTest, View) {
  walk({"View", [&](World& w) { base(w); },
        [&](World& w) {
          return w.sn_->view("w", "p", {{"x", "y"}}).status();
        }});
}

TEST_F(FaultWalkTest, Commit) {
  walk({"Commit", [&](World& w) { base(w); },
        [&](World& w) {
          // No Nix label given: the active's must be kept (read by the step that a fault
          // once skipped silently, committing without them).
          return w.sn_->commit("c", "a", {{"x", "y"}});
        }});
}

TEST_F(FaultWalkTest, RemoveActiveWithRoots) {
  walk({"Remove (active)", [&](World& w) { base(w); },
        [&](World& w) { return w.sn_->remove("a"); }});
}

TEST_F(FaultWalkTest, RemoveCommitted) {
  walk({"Remove (committed)",
        [&](World& w) {
          base(w);
          ASSERT_TRUE(w.sn_->prepare("q-a", "", {{kPath1, storePath(2)}}).isOk());
          ASSERT_TRUE(w.sn_->commit("q", "q-a", {{kPath1, storePath(2)}}).isOk());
        },
        [&](World& w) { return w.sn_->remove("q"); }});
}

TEST_F(FaultWalkTest, Mounts) {
  // Mounts changes nothing: the walk compares its result with the clean run's instead.
  World clean(store_dir_);
  base(clean);
  clean.reopen();
  auto want = clean.sn_->mounts("a");
  ASSERT_TRUE(want.isOk()) << want.status().toString();
  std::string before = clean.state();
  int points = 0;
  for (int n = 1;; ++n) {
    World w(store_dir_);
    base(w);
    w.reopen();
    FaultPlan::global().arm(n);
    auto m = w.sn_->mounts("a");
    points = FaultPlan::global().disarm();
    if (FaultPlan::global().failed().empty()) {
      ASSERT_TRUE(m.isOk()) << m.status().toString();
      break;
    }
    ASSERT_FALSE(m.isOk()) << "Mounts outlived fault " << n << " at "
                           << FaultPlan::global().failed() << " (a shortened chain?)";
    EXPECT_THAT(m.status().message(), ::testing::HasSubstr("injected")) << m.status().toString();
    EXPECT_EQ(w.state(), before);
  }
  std::cout << "Mounts: " << points << " fault points\n";
  ASSERT_GT(points, 0);
}

TEST_F(FaultWalkTest, Cleanup) {
  walk({"Cleanup",
        [&](World& w) {
          base(w);
          // Orphans a crash leaves: a snapshot directory and a GC root folder of no record.
          fs::create_directories(w.root_ / "snapshots" / "40" / "fs" / "d");
          writeFile(w.root_ / "snapshots" / "40" / "fs" / "d" / "f", "x");
          fs::create_directories(w.root_ / "gcroots" / "41");
          fs::create_symlink(storePath(1), w.root_ / "gcroots" / "41" / "r");
        },
        [&](World& w) { return w.sn_->cleanup(); }, /*retry_finishes=*/true});
}

}  // namespace
}  // namespace nixsnap::testing
