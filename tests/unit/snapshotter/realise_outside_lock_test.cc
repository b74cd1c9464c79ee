// Issue 14: a slow realisation never stalls other snapshot writes. The snapshotter roots
// and realises before it takes the metadata writer lock, over the RealiseScheduler as the
// daemon composes it. Ordering is shown with the slow fake's gate (a realisation is still
// blocked when the other calls return), never with timings.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "mocks/forwarding_nix_store.h"
#include "mocks/slow_nix_store.h"
#include "nix/realise_scheduler.h"
#include "snapshotter/nix_snapshotter_fixture.h"
#include "snapshotter/snapshots_service.h"

namespace nixsnap::testing {
namespace {

using ::testing::Invoke;

class RealiseOutsideLockTest : public NixSnapshotterTest {
 protected:
  void TearDown() override {
    slow_.open();
    sn_.reset();  // before slow_ goes: the scheduler may still be using it
  }

  /// Reopens the snapshotter over RealiseScheduler(bound) over the slow fake.
  void openSlow(size_t bound = 4) {
    sn_.reset();
    auto meta = metadata::openSqliteMetaStore(root_ / "metadata.db");
    ASSERT_TRUE(meta.isOk());
    auto sched = std::make_unique<nix::RealiseScheduler>(forwardTo(slow_), bound);
    sched_ = sched.get();
    snapshotter::OverlayConfig c;
    c.root = root_;
    c.store_dir = store_dir_;
    auto sn = snapshotter::OverlaySnapshotter::create(c, std::move(*meta), std::move(sched),
                                                      std::make_shared<SteppingClock>());
    ASSERT_TRUE(sn.isOk());
    sn_ = std::move(*sn);
    store_ = nullptr;
  }

  Labels nixLayer(const std::string& path) { return {{kLayer, "true"}, {pathLabel(0), path}}; }

  bool waitingCalls(size_t n) {
    for (int i = 0; i < 30000; ++i) {  // safety limit only
      if (sched_->load().waiting == n) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  SlowNixStore slow_;
  nix::RealiseScheduler* sched_ = nullptr;
};

TEST_F(RealiseOutsideLockTest, UnrelatedWritesCompleteWhileARealisationIsBlocked) {
  openSlow();
  std::atomic<bool> slow_done{false};
  Result<std::vector<Mount>> slow = notFound("");
  std::thread t([&] {
    slow = sn_->prepare("slow", "", nixLayer(sp(1)));
    slow_done = true;
  });
  ASSERT_TRUE(slow_.waitFor([&] { return slow_.running_ == 1; }));

  // Prepare, Commit, View, Update, Remove and Cleanup of other snapshots, one after the other.
  ASSERT_TRUE(sn_->prepare("base-a", "", {}).isOk());
  ASSERT_TRUE(sn_->commit("base", "base-a", {}).isOk());
  ASSERT_TRUE(sn_->prepare("child", "base", {}).isOk());
  ASSERT_TRUE(sn_->view("v", "base", {}).isOk());
  snapshotter::Info info;
  info.name = "base";
  info.labels = {{"x", "y"}};
  ASSERT_TRUE(sn_->update(info, {"labels.x"}).isOk());
  ASSERT_TRUE(sn_->remove("v").isOk());
  ASSERT_TRUE(sn_->remove("child").isOk());
  ASSERT_TRUE(sn_->cleanup().isOk());
  // All of them finished while the nix layer was still realising.
  EXPECT_FALSE(slow_done.load());
  EXPECT_EQ(slow_.get(slow_.running_), 1);
  // The in-flight Prepare's roots survived the Cleanup (Remove unroots only its own ids).
  std::vector<std::string> removed = slow_.get(slow_.removed_);
  EXPECT_EQ(std::count(removed.begin(), removed.end(), (root_ / "gcroots" / "1").string()), 0);
  EXPECT_EQ(removed.size(), 2u);  // v and child

  slow_.open();
  t.join();
  ASSERT_TRUE(slow.isOk()) << slow.status().toString();
  EXPECT_TRUE(sn_->stat("slow").isOk());
  EXPECT_EQ(slow_.get(slow_.roots_).count((root_ / "gcroots" / "1").string()), 1u);
}

TEST_F(RealiseOutsideLockTest, RealisationsOfTwoLayersOverlap) {
  openSlow();
  Result<std::vector<Mount>> a = notFound(""), b = notFound("");
  std::thread ta([&] { a = sn_->prepare("a", "", nixLayer(sp(1))); });
  std::thread tb([&] { b = sn_->prepare("b", "", nixLayer(sp(2))); });
  // Both in flight at once (one at a time would never get here).
  EXPECT_TRUE(slow_.waitFor([&] { return slow_.running_ == 2; }));
  slow_.open();
  ta.join();
  tb.join();
  EXPECT_TRUE(a.isOk()) << a.status().toString();
  EXPECT_TRUE(b.isOk()) << b.status().toString();
  EXPECT_EQ(slow_.get(slow_.max_running_), 2);
}

TEST_F(RealiseOutsideLockTest, StorePathNeededByTwoLayersAtOnceIsRealisedOnceAndRootedByBoth) {
  openSlow();
  Result<std::vector<Mount>> a = notFound(""), b = notFound("");
  std::thread ta([&] { a = sn_->prepare("a", "", nixLayer(sp(1))); });
  ASSERT_TRUE(slow_.waitFor([&] { return slow_.running_ == 1; }));
  std::thread tb([&] { b = sn_->prepare("b", "", nixLayer(sp(1))); });
  ASSERT_TRUE(waitingCalls(1));
  slow_.open();
  ta.join();
  tb.join();
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  ASSERT_TRUE(b.isOk()) << b.status().toString();
  std::lock_guard<std::mutex> lock(slow_.mu_);
  EXPECT_EQ(slow_.substituted_[sp(1)], 1);
  EXPECT_FALSE(slow_.same_path_overlap_);
  EXPECT_EQ(slow_.roots_[(root_ / "gcroots" / "1").string()], std::set<std::string>{sp(1)});
  EXPECT_EQ(slow_.roots_[(root_ / "gcroots" / "2").string()], std::set<std::string>{sp(1)});
}

TEST_F(RealiseOutsideLockTest, LoserOfASameKeyRaceGetsAlreadyExistsAndItsRootsRemoved) {
  openSlow();
  Result<std::vector<Mount>> a = notFound(""), b = notFound("");
  std::thread ta([&] { a = sn_->prepare("k", "", nixLayer(sp(1))); });
  ASSERT_TRUE(slow_.waitFor([&] { return slow_.running_ == 1; }));
  // Past the read-only key check too (no record yet): it waits for the same path.
  std::thread tb([&] { b = sn_->prepare("k", "", nixLayer(sp(1))); });
  ASSERT_TRUE(waitingCalls(1));
  slow_.open();
  ta.join();
  tb.join();
  ASSERT_NE(a.isOk(), b.isOk());
  const Result<std::vector<Mount>>& loser = a.isOk() ? b : a;
  EXPECT_EQ(loser.status().code(), ErrorCode::AlreadyExists) << loser.status().toString();
  std::string winner_dir = (root_ / "gcroots" / (a.isOk() ? "1" : "2")).string();
  std::string loser_dir = (root_ / "gcroots" / (a.isOk() ? "2" : "1")).string();
  std::lock_guard<std::mutex> lock(slow_.mu_);
  EXPECT_EQ(slow_.removed_, std::vector<std::string>{loser_dir});
  EXPECT_EQ(slow_.roots_.count(loser_dir), 0u);
  EXPECT_EQ(slow_.roots_.count(winner_dir), 1u);
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(root_ / "snapshots")) {
    dirs.push_back(e.path().filename().string());
  }
  EXPECT_EQ(dirs, std::vector<std::string>{a.isOk() ? "1" : "2"});
}

TEST_F(RealiseOutsideLockTest, PrepareThatGivesUpWhileRealisingStopsItAndLeavesNothing) {
  openSlow();
  std::atomic<bool> gave_up{false};
  CancelToken token([&] { return gave_up.load(); });
  Result<std::vector<Mount>> r = notFound("");
  std::thread t([&] { r = sn_->prepare("c", "", nixLayer(sp(1)), token); });
  ASSERT_TRUE(slow_.waitFor([&] { return slow_.running_ == 1; }));
  gave_up = true;
  t.join();  // the gate is never opened
  EXPECT_EQ(r.status().code(), ErrorCode::Canceled) << r.status().toString();
  // Nobody else needs the path: the realisation itself is stopped, its roots gone.
  EXPECT_TRUE(slow_.waitFor([&] { return slow_.cancelled_.size() == 1 && slow_.running_ == 0; }));
  EXPECT_EQ(sn_->stat("c").status().code(), ErrorCode::NotFound);
  EXPECT_TRUE(fs::is_empty(root_ / "snapshots"));
  ASSERT_TRUE(sn_->cleanup().isOk());
  {
    std::lock_guard<std::mutex> lock(slow_.mu_);
    EXPECT_EQ(slow_.cancelled_, std::vector<std::string>{(root_ / "gcroots" / "1").string()});
    EXPECT_TRUE(slow_.roots_.empty());
    EXPECT_EQ(slow_.substituted_.count(sp(1)), 0u);
  }
  // The same key can be prepared again at once (its own id, its own roots).
  slow_.open();
  ASSERT_TRUE(sn_->prepare("c", "", nixLayer(sp(1))).isOk());
  sn_.reset();
  std::lock_guard<std::mutex> lock(slow_.mu_);
  EXPECT_EQ(slow_.roots_.count((root_ / "gcroots" / "2").string()), 1u);
}

TEST_F(RealiseOutsideLockTest, AbandonedRealisationOthersWaitForRunsOnAndIsRemovedOnce) {
  openSlow();
  std::atomic<bool> gave_up{false};
  CancelToken token([&] { return gave_up.load(); });
  Result<std::vector<Mount>> a = notFound(""), b = notFound("");
  std::thread ta([&] { a = sn_->prepare("a", "", nixLayer(sp(1)), token); });
  ASSERT_TRUE(slow_.waitFor([&] { return slow_.running_ == 1; }));
  std::thread tb([&] { b = sn_->prepare("b", "", nixLayer(sp(1))); });
  ASSERT_TRUE(waitingCalls(1));
  gave_up = true;
  ta.join();
  EXPECT_EQ(a.status().code(), ErrorCode::Canceled) << a.status().toString();
  // gcroots/1 has no record and no Prepare in flight: Cleanup finds it (the fake keeps
  // roots in memory, so the folder is made here) and leaves it to the scheduler.
  fs::create_directories(root_ / "gcroots" / "1");
  ASSERT_TRUE(sn_->cleanup().isOk());
  EXPECT_TRUE(slow_.get(slow_.removed_).empty());
  slow_.open();
  tb.join();
  ASSERT_TRUE(b.isOk()) << b.status().toString();
  sn_.reset();  // waits for the abandoned realisation's end and clean-up
  std::lock_guard<std::mutex> lock(slow_.mu_);
  const std::string abandoned = (root_ / "gcroots" / "1").string();
  EXPECT_TRUE(slow_.cancelled_.empty());
  EXPECT_EQ(slow_.substituted_[sp(1)], 1);
  EXPECT_EQ(slow_.removed_, std::vector<std::string>{abandoned});  // exactly once
  EXPECT_EQ(slow_.roots_.count(abandoned), 0u);
  EXPECT_EQ(slow_.roots_[(root_ / "gcroots" / "2").string()], std::set<std::string>{sp(1)});
}

/// Forwards to a Snapshotter and reports when a Prepare with a CancelToken returns.
class PrepareWatcher : public snapshotter::Snapshotter {
 public:
  explicit PrepareWatcher(snapshotter::Snapshotter& sn) : sn_(sn) {}
  Result<snapshotter::Info> stat(const std::string& k) override { return sn_.stat(k); }
  Result<snapshotter::Info> update(const snapshotter::Info& i,
                                   const std::vector<std::string>& f) override {
    return sn_.update(i, f);
  }
  Result<snapshotter::Usage> usage(const std::string& k) override { return sn_.usage(k); }
  Result<std::vector<Mount>> mounts(const std::string& k) override { return sn_.mounts(k); }
  Result<std::vector<Mount>> prepare(const std::string& k, const std::string& p,
                                     const Labels& l) override {
    return sn_.prepare(k, p, l);
  }
  Result<std::vector<Mount>> prepare(const std::string& k, const std::string& p, const Labels& l,
                                     const CancelToken& c) override {
    Result<std::vector<Mount>> r = sn_.prepare(k, p, l, c);
    std::lock_guard<std::mutex> lock(mu_);
    returned_ = r.status();
    done_ = true;
    cv_.notify_all();
    return r;
  }
  Result<std::vector<Mount>> view(const std::string& k, const std::string& p,
                                  const Labels& l) override {
    return sn_.view(k, p, l);
  }
  Status commit(const std::string& n, const std::string& k, const Labels& l) override {
    return sn_.commit(n, k, l);
  }
  Status remove(const std::string& k) override { return sn_.remove(k); }
  Status walk(const std::vector<std::string>& f, const snapshotter::WalkFn& fn) override {
    return sn_.walk(f, fn);
  }
  Status cleanup() override { return sn_.cleanup(); }

  /// The status the Prepare returned, once it has (30 s safety limit: then Unknown).
  Status waitReturned() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(30), [&] { return done_; })) {
      return Status(ErrorCode::Unknown, "prepare did not return");
    }
    return returned_;
  }

 private:
  snapshotter::Snapshotter& sn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  Status returned_;
};

TEST_F(RealiseOutsideLockTest, GrpcCallerWhoseDeadlinePassesStopsWaitingAndLeavesNothing) {
  openSlow();
  PrepareWatcher watcher(*sn_);
  snapshotter::SnapshotsService service(watcher);
  std::string addr = "unix://" + (dir_.path() / "s.sock").string();
  grpc::ServerBuilder b;
  b.AddListeningPort(addr, grpc::InsecureServerCredentials());
  b.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  ASSERT_TRUE(server);
  auto stub = containerd::services::snapshots::v1::Snapshots::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  containerd::services::snapshots::v1::PrepareSnapshotRequest req;
  req.set_key("c");
  for (const auto& [k, v] : nixLayer(sp(1))) {
    (*req.mutable_labels())[k] = v;
  }
  containerd::services::snapshots::v1::PrepareSnapshotResponse resp;
  grpc::Status st = stub->Prepare(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The handler gives up too, and the realisation is stopped without the gate opening.
  Status returned = watcher.waitReturned();
  EXPECT_EQ(returned.code(), ErrorCode::Canceled) << returned.toString();
  EXPECT_TRUE(slow_.waitFor([&] { return slow_.cancelled_.size() == 1 && slow_.running_ == 0; }));
  EXPECT_FALSE(slow_.get(slow_.open_));
  EXPECT_EQ(sn_->stat("c").status().code(), ErrorCode::NotFound);
  server->Shutdown();
  sn_.reset();
  std::lock_guard<std::mutex> lock(slow_.mu_);
  EXPECT_TRUE(slow_.roots_.empty());
  EXPECT_TRUE(slow_.removed_.empty());
  EXPECT_TRUE(fs::is_empty(root_ / "snapshots"));
}

TEST_F(NixSnapshotterTest, CleanupLeavesTheRootsOfAnInFlightPrepareAlone) {
  std::promise<void> entered;
  std::promise<void> gate;
  std::shared_future<void> gate_f = gate.get_future().share();
  fs::path dir = root_ / "gcroots" / "1";
  EXPECT_CALL(*store_, realise(_, dir)).WillOnce(Invoke([&](const auto&, const fs::path& d) {
    fs::create_directories(d);
    entered.set_value();
    gate_f.wait();
    return Status::ok();
  }));
  Result<std::vector<Mount>> r = notFound("");
  std::thread t([&] { r = sn_->prepare("nix", "", {{kLayer, "true"}, {pathLabel(0), sp(1)}}); });
  entered.get_future().wait();
  // No record owns gcroots/1 yet; the StrictMock fails on any removeRoots.
  ASSERT_TRUE(sn_->cleanup().isOk());
  EXPECT_TRUE(fs::exists(dir));
  gate.set_value();
  t.join();
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_TRUE(sn_->cleanup().isOk());  // owned by a record now
}

TEST_F(NixSnapshotterTest, PrepareThatCannotBeCreatedRealisesNothing) {
  // The StrictMock fails on any realise: the read-only check answers first.
  ASSERT_TRUE(sn_->prepare("taken", "", {}).isOk());
  Labels labels{{kLayer, "true"}, {pathLabel(0), sp(1)}};
  EXPECT_EQ(sn_->prepare("taken", "", labels).status().code(), ErrorCode::AlreadyExists);
  auto missing = sn_->prepare("k", "no-such-parent", labels);
  EXPECT_EQ(missing.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("no-such-parent"));
  EXPECT_EQ(sn_->prepare("k", "taken", labels).status().code(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace nixsnap::testing
