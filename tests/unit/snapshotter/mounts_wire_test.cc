// Mounts as raw bytes: the encoder (mounts_wire.h), the BindChain memo, and the service's
// raw callback Mounts and callback Stat over a real in-process gRPC server, compared with
// the exact reference mount lists, before and after cache invalidation.
#include "snapshotter/mounts_wire.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <gtest/gtest.h>

#include <optional>

#include "made_up_store.h"
#include "snapshotter/factory.h"
#include "snapshotter/nix_layer.h"
#include "snapshotter/snapshots_service.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

namespace pb = containerd::services::snapshots::v1;
using snapshotter::BindChain;
using snapshotter::Labels;
using snapshotter::Mount;
using snapshotter::MountPlan;

std::vector<Mount> decode(const std::string& bytes) {
  pb::MountsResponse resp;
  EXPECT_TRUE(resp.ParseFromString(bytes));
  std::vector<Mount> out;
  for (const containerd::types::Mount& m : resp.mounts()) {
    out.push_back(
        Mount{m.type(), m.source(), m.target(), {m.options().begin(), m.options().end()}});
  }
  return out;
}

std::string dump(const grpc::ByteBuffer& buf) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buf.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

Mount bindOf(const std::string& p) { return Mount{"bind", p, p, {"ro", "rbind"}}; }

TEST(MountsWireTest, ReplyDecodesToHeadThenChainAndHoldsTheChain) {
  MountPlan plan;
  plan.head = {Mount{"overlay", "overlay", "", {"workdir=/w", "upperdir=/u", "lowerdir=/l"}},
               bindOf("/nix/store/own")};
  plan.chain = std::make_shared<const BindChain>(
      std::vector<fs::path>{"/nix/store/a", "/nix/store/b", "/nix/store/c"});
  std::optional<grpc::ByteBuffer> buf = snapshotter::encodeMountsReply(plan);
  EXPECT_EQ(plan.chain.use_count(), 2);  // the reply's chain slice holds a reference
  std::vector<Mount> expected = {plan.head[0], plan.head[1], bindOf("/nix/store/a"),
                                 bindOf("/nix/store/b"), bindOf("/nix/store/c")};
  EXPECT_EQ(decode(dump(*buf)), expected);
  EXPECT_EQ(plan.flatten(), expected);
  buf.reset();
  EXPECT_EQ(plan.chain.use_count(), 1);
}

TEST(MountsWireTest, NoOrEmptyChainGivesHeadOnly) {
  MountPlan plan;
  plan.head = {Mount{"bind", "/r/1/fs", "", {"rw", "rbind"}}};
  EXPECT_EQ(decode(dump(snapshotter::encodeMountsReply(plan))), plan.head);
  plan.chain = std::make_shared<const BindChain>(std::vector<fs::path>{});
  EXPECT_EQ(decode(dump(snapshotter::encodeMountsReply(plan))), plan.head);
}

TEST(MountsWireTest, BindChainEncodesOnce) {
  BindChain chain({"/nix/store/a"});
  int calls = 0;
  auto encode = [&](const std::vector<fs::path>& paths) {
    ++calls;
    return snapshotter::encodeBindMounts(paths);
  };
  const std::string& first = chain.encoded(encode);
  const std::string& second = chain.encoded(encode);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(decode(first), std::vector<Mount>{bindOf("/nix/store/a")});
}

class NixLayerPlanTest : public ::testing::Test {
 protected:
  std::string storePath(char c) { return madeUpStorePath(root_.path() / "store", c, "p"); }
  static Labels paths(const std::vector<std::string>& ps) { return storePathLabels(ps); }

  TempDir root_ = makeTempDir();
  snapshotter::NixLayer nix_{root_.path() / "store", root_.path() / "gcroots", nullptr};
};

TEST_F(NixLayerPlanTest, ChainIsSharedUntilInvalidated) {
  std::string a = storePath('a'), b = storePath('b'), c = storePath('c');
  std::vector<Labels> chain_labels = {paths({a, b}), paths({b})};
  int loads = 0;
  auto load = [&]() -> Result<std::vector<Labels>> {
    ++loads;
    return chain_labels;
  };
  MountPlan first;
  ASSERT_TRUE(nix_.planBinds({}, 7, load, first).isOk());
  ASSERT_TRUE(first.chain);
  EXPECT_EQ(first.chain->paths(), (std::vector<fs::path>{a, b}));
  EXPECT_TRUE(first.head.empty());
  MountPlan second;
  ASSERT_TRUE(nix_.planBinds({}, 7, load, second).isOk());
  EXPECT_EQ(second.chain.get(), first.chain.get());  // cached, not rebuilt
  EXPECT_EQ(loads, 1);

  // The same parent id now stands for other labels (Update/Remove invalidate()).
  chain_labels = {paths({c})};
  nix_.invalidate();
  MountPlan third;
  ASSERT_TRUE(nix_.planBinds({}, 7, load, third).isOk());
  EXPECT_EQ(loads, 2);
  ASSERT_TRUE(third.chain);
  EXPECT_EQ(third.chain->paths(), (std::vector<fs::path>{c}));
  EXPECT_EQ(first.chain->paths(), (std::vector<fs::path>{a, b}));  // old holders unaffected
  std::vector<Mount> appended;
  ASSERT_TRUE(nix_.appendBinds({}, 7, load, appended).isOk());
  EXPECT_EQ(appended, std::vector<Mount>{bindOf(c)});
}

TEST_F(NixLayerPlanTest, OwnPathInChainFlattensIntoHead) {
  std::string a = storePath('a'), b = storePath('b'), c = storePath('c');
  auto load = [&]() -> Result<std::vector<Labels>> { return std::vector<Labels>{paths({a, b})}; };
  MountPlan overlap;
  ASSERT_TRUE(nix_.planBinds(paths({b, c}), 3, load, overlap).isOk());
  EXPECT_FALSE(overlap.chain);
  EXPECT_EQ(overlap.head, (std::vector<Mount>{bindOf(b), bindOf(c), bindOf(a)}));
  MountPlan disjoint;
  ASSERT_TRUE(nix_.planBinds(paths({c}), 3, load, disjoint).isOk());
  ASSERT_TRUE(disjoint.chain);
  EXPECT_EQ(disjoint.flatten(), (std::vector<Mount>{bindOf(c), bindOf(a), bindOf(b)}));
  std::vector<Mount> appended;
  ASSERT_TRUE(nix_.appendBinds(paths({b, c}), 3, load, appended).isOk());
  EXPECT_EQ(appended, overlap.head);
}

TEST_F(NixLayerPlanTest, MissingChainPathFailsAndIsNotCached) {
  std::string a = storePath('a');
  std::string gone = (root_.path() / "store").string() + "/" + std::string(32, 'g') + "-p";
  int loads = 0;
  auto load = [&]() -> Result<std::vector<Labels>> {
    ++loads;
    return std::vector<Labels>{paths({a, gone})};
  };
  MountPlan plan;
  Status st = nix_.planBinds({}, 5, load, plan);
  EXPECT_EQ(st.code(), ErrorCode::FailedPrecondition) << st.toString();
  EXPECT_FALSE(plan.chain);
  EXPECT_TRUE(plan.head.empty());
  fs::create_directories(gone);
  MountPlan retry;
  ASSERT_TRUE(nix_.planBinds({}, 5, load, retry).isOk());
  EXPECT_EQ(loads, 2);
  ASSERT_TRUE(retry.chain);
  EXPECT_EQ(retry.chain->paths().size(), 2u);
}

/// A Snapshotter without the MountPlanner capability: Mounts must use mounts().
class FixedMountsSnapshotter final : public snapshotter::Snapshotter {
 public:
  Result<snapshotter::Info> stat(const std::string&) override { return notFound("stat"); }
  Result<snapshotter::Info> update(const snapshotter::Info&,
                                   const std::vector<std::string>&) override {
    return notFound("update");
  }
  Result<snapshotter::Usage> usage(const std::string&) override { return notFound("usage"); }
  Result<std::vector<Mount>> mounts(const std::string& key) override {
    if (key != "k") {
      return notFound("snapshot \"" + key + "\"");
    }
    return std::vector<Mount>{Mount{"bind", "/x/fs", "", {"rw", "rbind"}}, bindOf("/nix/store/q")};
  }
  Result<std::vector<Mount>> prepare(const std::string&, const std::string&,
                                     const Labels&) override {
    return notFound("prepare");
  }
  Result<std::vector<Mount>> view(const std::string&, const std::string&, const Labels&) override {
    return notFound("view");
  }
  Status commit(const std::string&, const std::string&, const Labels&) override {
    return notFound("commit");
  }
  Status remove(const std::string&) override { return notFound("remove"); }
  Status walk(const std::vector<std::string>&, const snapshotter::WalkFn&) override {
    return Status::ok();
  }
  Status cleanup() override { return Status::ok(); }
};

/// A real server on a unix socket in front of `sn`.
class ServerHarness {
 public:
  explicit ServerHarness(snapshotter::Snapshotter& sn) : service_(sn) {
    auto tmp = TempDir::create("/tmp", "nixsnap-");
    EXPECT_TRUE(tmp.isOk());
    sock_dir_.emplace(std::move(*tmp));
    std::string addr = "unix://" + (sock_dir_->path() / "s.sock").string();
    grpc::ServerBuilder b;
    b.AddListeningPort(addr, grpc::InsecureServerCredentials());
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    EXPECT_TRUE(server_);
    channel_ = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
    stub_ = pb::Snapshots::NewStub(channel_);
  }
  ~ServerHarness() { server_->Shutdown(); }

  /// Mounts of `key` through the generated stub (decoded by protobuf).
  grpc::Status mounts(const std::string& key, std::vector<Mount>* out) {
    grpc::ClientContext ctx;
    pb::MountsRequest req;
    req.set_key(key);
    pb::MountsResponse resp;
    grpc::Status st = stub_->Mounts(&ctx, req, &resp);
    std::string bytes;
    resp.SerializeToString(&bytes);
    *out = decode(bytes);
    return st;
  }

  /// Sends `request` bytes as they are to Mounts.
  grpc::Status rawMounts(const std::string& request) {
    grpc::ClientContext ctx;
    grpc::Slice slice(request);
    grpc::ByteBuffer req(&slice, 1);
    grpc::ByteBuffer resp;
    static const grpc::internal::RpcMethod kMethod(
        "/containerd.services.snapshots.v1.Snapshots/Mounts",
        grpc::internal::RpcMethod::NORMAL_RPC);
    return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
        channel_.get(), kMethod, &ctx, req, &resp);
  }

  pb::Snapshots::Stub& stub() { return *stub_; }

 private:
  snapshotter::SnapshotsService service_;
  std::optional<TempDir> sock_dir_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::Snapshots::Stub> stub_;
};

class RawMountsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sn = snapshotter::makeSnapshotter(madeUpStoreOptions(root_.path()));
    ASSERT_TRUE(sn.isOk()) << sn.status().toString();
    sn_ = std::move(*sn);
    server_.emplace(*sn_);
  }

  std::string storePath(char c, const std::string& name) {
    return madeUpStorePath(root_.path() / "store", c, name);
  }
  static Labels paths(const std::vector<std::string>& ps) { return storePathLabels(ps); }
  /// Prepare + Commit of `name` on `parent` with `labels` (through the snapshotter).
  void layer(const std::string& name, const std::string& parent, const Labels& labels) {
    ASSERT_TRUE(sn_->prepare(name + "-a", parent, labels).isOk());
    ASSERT_TRUE(sn_->commit(name, name + "-a", labels).isOk());
  }
  /// Mounts over the wire equal both `expected` and the snapshotter's own answer.
  void expectMounts(const std::string& key, const std::vector<Mount>& expected_binds) {
    Result<std::vector<Mount>> ref = sn_->mounts(key);
    ASSERT_TRUE(ref.isOk()) << ref.status().toString();
    ASSERT_GE(ref->size(), 1u);
    std::vector<Mount> expected = {ref->front()};
    expected.insert(expected.end(), expected_binds.begin(), expected_binds.end());
    EXPECT_EQ(*ref, expected) << key;
    for (int round = 0; round < 2; ++round) {  // the second call is served from the cache
      std::vector<Mount> got;
      grpc::Status st = server_->mounts(key, &got);
      ASSERT_TRUE(st.ok()) << st.error_message();
      EXPECT_EQ(got, expected) << key << " round " << round;
    }
  }

  TempDir root_ = makeTempDir();
  snapshotter::SnapshotterPtr sn_;
  std::optional<ServerHarness> server_;
};

TEST_F(RawMountsServiceTest, MountsEqualReferenceInOrderWithDedup) {
  std::string p1 = storePath('1', "one"), p2 = storePath('2', "two"), p3 = storePath('3', "three");
  layer("c1", "", paths({p1, p2}));
  layer("c2", "c1", paths({p2, p3}));  // p2 again: listed once, at c2's place
  ASSERT_TRUE(sn_->prepare("top", "c2", {}).isOk());
  ASSERT_TRUE(sn_->prepare("own", "c2", paths({p3})).isOk());  // own path also in the chain
  ASSERT_TRUE(sn_->view("view", "c2", {}).isOk());
  ASSERT_TRUE(sn_->view("view1", "c1", {}).isOk());
  ASSERT_TRUE(sn_->prepare("base", "", paths({p1})).isOk());

  expectMounts("top", {bindOf(p2), bindOf(p3), bindOf(p1)});
  expectMounts("own", {bindOf(p3), bindOf(p2), bindOf(p1)});
  expectMounts("view", {bindOf(p2), bindOf(p3), bindOf(p1)});
  expectMounts("view1", {bindOf(p1), bindOf(p2)});
  expectMounts("base", {bindOf(p1)});
  Result<std::vector<Mount>> top = sn_->mounts("top");
  ASSERT_TRUE(top.isOk());
  EXPECT_EQ(top->front().type, "overlay");
}

TEST_F(RawMountsServiceTest, MountsErrorsKeepTheirCodes) {
  layer("c1", "", {});
  std::vector<Mount> got;
  EXPECT_EQ(server_->mounts("missing", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server_->mounts("c1", &got).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(server_
                ->rawMounts(std::string("\x0a\x05"
                                        "ab",
                                        4))
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RawMountsServiceTest, CacheFollowsUpdateAndRemove) {
  std::string p1 = storePath('1', "one"), p2 = storePath('2', "two"), p4 = storePath('4', "four");
  layer("c1", "", paths({p1}));
  layer("c2", "c1", paths({p2}));
  ASSERT_TRUE(sn_->prepare("top", "c2", {}).isOk());
  expectMounts("top", {bindOf(p2), bindOf(p1)});

  // Update (any label) drops cached chains; the answer stays the same.
  snapshotter::Info info;
  info.name = "c1";
  info.labels = {{"x", "1"}};
  ASSERT_TRUE(sn_->update(info, {"labels.x"}).isOk());
  expectMounts("top", {bindOf(p2), bindOf(p1)});

  // Remove the top of the chain and build it again under the same name (the metadata may
  // hand out the same id again): no stale binds from the old c2.
  ASSERT_TRUE(sn_->remove("top").isOk());
  ASSERT_TRUE(sn_->remove("c2").isOk());
  layer("c2", "c1", paths({p4}));
  ASSERT_TRUE(sn_->prepare("top", "c2", {}).isOk());
  expectMounts("top", {bindOf(p4), bindOf(p1)});
}

TEST_F(RawMountsServiceTest, StatOnCallbackPathReturnsInfoAndNotFound) {
  layer("c1", "", {{"x", "1"}});
  grpc::ClientContext ctx;
  pb::StatSnapshotRequest req;
  req.set_key("c1");
  pb::StatSnapshotResponse resp;
  ASSERT_TRUE(server_->stub().Stat(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.info().name(), "c1");
  EXPECT_EQ(resp.info().kind(), pb::COMMITTED);
  EXPECT_EQ(resp.info().labels().at("x"), "1");
  grpc::ClientContext ctx2;
  req.set_key("nope");
  EXPECT_EQ(server_->stub().Stat(&ctx2, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(RawMountsFallbackTest, SnapshotterWithoutPlannerAnswersFromMounts) {
  FixedMountsSnapshotter sn;
  ServerHarness server(sn);
  std::vector<Mount> got;
  ASSERT_TRUE(server.mounts("k", &got).ok());
  EXPECT_EQ(got, (std::vector<Mount>{Mount{"bind", "/x/fs", "", {"rw", "rbind"}},
                                     bindOf("/nix/store/q")}));
  EXPECT_EQ(server.mounts("other", &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace nixsnap::testing
