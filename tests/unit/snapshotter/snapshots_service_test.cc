// SnapshotsService over a real in-process gRPC server on a unix socket.
#include "snapshotter/snapshots_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "made_up_store.h"
#include "rpc/grpc_status.h"
#include "snapshotter/factory.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

namespace pb = containerd::services::snapshots::v1;

class SnapshotsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tmp = TempDir::create("/tmp", "nixsnap-");
    ASSERT_TRUE(tmp.isOk());
    sock_dir_.emplace(std::move(*tmp));
    auto sn = snapshotter::makeSnapshotter(madeUpStoreOptions(root_.path()));
    ASSERT_TRUE(sn.isOk()) << sn.status().toString();
    sn_ = std::move(*sn);
    service_ = std::make_unique<snapshotter::SnapshotsService>(*sn_);
    std::string addr = "unix://" + (sock_dir_->path() / "s.sock").string();
    grpc::ServerBuilder b;
    b.AddListeningPort(addr, grpc::InsecureServerCredentials());
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_TRUE(server_);
    stub_ = pb::Snapshots::NewStub(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown();
    }
  }

  grpc::Status prepare(const std::string& key, const std::string& parent,
                       pb::PrepareSnapshotResponse* resp = nullptr,
                       std::map<std::string, std::string> labels = {}) {
    grpc::ClientContext ctx;
    pb::PrepareSnapshotRequest req;
    req.set_snapshotter("nix");
    req.set_key(key);
    req.set_parent(parent);
    req.mutable_labels()->insert(labels.begin(), labels.end());
    pb::PrepareSnapshotResponse local;
    return stub_->Prepare(&ctx, req, resp != nullptr ? resp : &local);
  }
  grpc::Status commit(const std::string& name, const std::string& key) {
    grpc::ClientContext ctx;
    pb::CommitSnapshotRequest req;
    req.set_name(name);
    req.set_key(key);
    google::protobuf::Empty e;
    return stub_->Commit(&ctx, req, &e);
  }

  /// Every message of one List call; `status` gets the call's final status.
  std::vector<pb::ListSnapshotsResponse> list(const pb::ListSnapshotsRequest& req,
                                              grpc::Status* status) {
    grpc::ClientContext ctx;
    auto reader = stub_->List(&ctx, req);
    std::vector<pb::ListSnapshotsResponse> out;
    for (pb::ListSnapshotsResponse resp; reader->Read(&resp);) {
      out.push_back(resp);
    }
    *status = reader->Finish();
    return out;
  }

  TempDir root_ = makeTempDir();
  std::optional<TempDir> sock_dir_;
  snapshotter::SnapshotterPtr sn_;
  std::unique_ptr<snapshotter::SnapshotsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::Snapshots::Stub> stub_;
};

TEST_F(SnapshotsServiceTest, PrepareReturnsMountsAndErrorCodesMap) {
  pb::PrepareSnapshotResponse resp;
  ASSERT_TRUE(prepare("a", "", &resp).ok());
  ASSERT_EQ(resp.mounts_size(), 1);
  EXPECT_EQ(resp.mounts(0).type(), "bind");
  EXPECT_EQ(resp.mounts(0).options(0), "rw");
  EXPECT_EQ(prepare("a", "").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(prepare("b", "missing").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(prepare("b", "a").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(commit("c", "a").ok());
  grpc::ClientContext ctx;
  pb::ViewSnapshotRequest vreq;
  vreq.set_key("v");
  vreq.set_parent("c");
  pb::ViewSnapshotResponse vresp;
  ASSERT_TRUE(stub_->View(&ctx, vreq, &vresp).ok());
  EXPECT_EQ(commit("n", "v").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::ClientContext rctx;
  pb::RemoveSnapshotRequest rreq;
  rreq.set_key("c");
  google::protobuf::Empty e;
  EXPECT_EQ(stub_->Remove(&rctx, rreq, &e).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(SnapshotsServiceTest, MountTargetCarriesStorePathBinds) {
  std::string p = (root_.path() / "store").string() + "/" + std::string(32, '1') + "-hello";
  fs::create_directories(p);
  ASSERT_TRUE(prepare("a", "", nullptr, {{"containerd.io/snapshot/nix-store-path.0", p}}).ok());
  ASSERT_TRUE(commit("c", "a").ok());
  {
    // Store-path labels are fixed at Prepare: an Update cannot change them.
    grpc::ClientContext ctx;
    pb::UpdateSnapshotRequest req;
    req.mutable_info()->set_name("c");
    (*req.mutable_info()->mutable_labels())["containerd.io/snapshot/nix-store-path.0"] = "/x";
    req.mutable_update_mask()->add_paths("labels.containerd.io/snapshot/nix-store-path.0");
    pb::UpdateSnapshotResponse resp;
    grpc::Status st = stub_->Update(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    grpc::ClientContext sctx;
    pb::StatSnapshotRequest sreq;
    sreq.set_key("c");
    pb::StatSnapshotResponse sresp;
    ASSERT_TRUE(stub_->Stat(&sctx, sreq, &sresp).ok());
    EXPECT_EQ(sresp.info().kind(), pb::COMMITTED);
    EXPECT_EQ(sresp.info().labels().at("containerd.io/snapshot/nix-store-path.0"), p);
  }
  pb::PrepareSnapshotResponse resp;
  ASSERT_TRUE(prepare("b", "c", &resp).ok());
  ASSERT_EQ(resp.mounts_size(), 2);
  EXPECT_EQ(resp.mounts(1).type(), "bind");
  EXPECT_EQ(resp.mounts(1).source(), p);
  EXPECT_EQ(resp.mounts(1).target(), p);
  EXPECT_EQ(resp.mounts(1).options(0), "ro");
  EXPECT_EQ(resp.mounts(1).options(1), "rbind");
  grpc::ClientContext ctx;
  pb::MountsRequest mreq;
  mreq.set_key("b");
  pb::MountsResponse mresp;
  ASSERT_TRUE(stub_->Mounts(&ctx, mreq, &mresp).ok());
  EXPECT_EQ(mresp.mounts(1).target(), p);
  EXPECT_EQ(
      prepare("bad", "", nullptr, {{"containerd.io/snapshot/nix-store-path.0", "/etc/passwd"}})
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SnapshotsServiceTest, StatUpdateUsageAndErrors) {
  ASSERT_TRUE(prepare("a", "", nullptr, {{"x", "1"}}).ok());
  grpc::ClientContext ctx;
  pb::StatSnapshotRequest req;
  req.set_key("a");
  pb::StatSnapshotResponse resp;
  ASSERT_TRUE(stub_->Stat(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.info().name(), "a");
  EXPECT_EQ(resp.info().kind(), pb::ACTIVE);
  EXPECT_EQ(resp.info().labels().at("x"), "1");
  EXPECT_GT(resp.info().created_at().seconds(), 1600000000);
  grpc::ClientContext c2;
  req.set_key("missing");
  EXPECT_EQ(stub_->Stat(&c2, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c3;
  pb::UpdateSnapshotRequest ureq;
  ureq.mutable_info()->set_name("a");
  ureq.mutable_update_mask()->add_paths("kind");
  pb::UpdateSnapshotResponse uresp;
  EXPECT_EQ(stub_->Update(&c3, ureq, &uresp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext c4;
  pb::UsageRequest usreq;
  usreq.set_key("a");
  pb::UsageResponse usresp;
  ASSERT_TRUE(stub_->Usage(&c4, usreq, &usresp).ok());
  EXPECT_GE(usresp.inodes(), 1);
  grpc::ClientContext c5;
  pb::CleanupRequest creq;
  google::protobuf::Empty e;
  EXPECT_TRUE(stub_->Cleanup(&c5, creq, &e).ok());
  grpc::ClientContext c6;
  pb::MountsRequest mreq;
  mreq.set_key("nope");
  pb::MountsResponse mresp;
  EXPECT_EQ(stub_->Mounts(&c6, mreq, &mresp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SnapshotsServiceTest, ListStreamsInBatchesWithFilters) {
  for (int i = 0; i < 250; ++i) {
    ASSERT_TRUE(prepare("k" + std::to_string(i), "").ok());
  }
  ASSERT_TRUE(commit("c", "k0").ok());
  pb::ListSnapshotsRequest req;
  grpc::Status st;
  std::vector<pb::ListSnapshotsResponse> batches = list(req, &st);
  ASSERT_TRUE(st.ok());
  int infos = 0;
  for (const auto& b : batches) {
    infos += b.info_size();
    EXPECT_LE(b.info_size(), snapshotter::SnapshotsService::kListBatchSize);
  }
  EXPECT_EQ(infos, 250);
  EXPECT_EQ(batches.size(), 3u);

  req.add_filters("kind==committed");
  batches = list(req, &st);
  ASSERT_TRUE(st.ok());
  infos = 0;
  for (const auto& b : batches) {
    infos += b.info_size();
    EXPECT_EQ(b.info(0).name(), "c");
  }
  EXPECT_EQ(infos, 1);

  pb::ListSnapshotsRequest bad;
  bad.add_filters("kind==");
  list(bad, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SnapshotsServiceTest, HugeKeysInErrorsKeepTheirCode) {
  // The message quotes the key; uncut, a default client refuses the trailer
  // (RESOURCE_EXHAUSTED) and never sees NOT_FOUND (review finding).
  std::string key(100000, 'k');
  grpc::ClientContext ctx;
  pb::StatSnapshotRequest req;
  req.set_key(key);
  pb::StatSnapshotResponse resp;
  grpc::Status st = stub_->Stat(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message().substr(0, 200);
  EXPECT_LE(st.error_message().size(), rpc::kMaxMessageBytes);
  EXPECT_NE(st.error_message().find("(100"), std::string::npos);  // says how long it was
  grpc::ClientContext c2;
  pb::MountsRequest mreq;
  mreq.set_key(key);
  pb::MountsResponse mresp;
  EXPECT_EQ(stub_->Mounts(&c2, mreq, &mresp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(prepare("x", key).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SnapshotsServiceTest, ListBatchesStayUnderAMegabyteWithLargeLabelSets) {
  // 20 snapshots of ~400 KB of labels each (nix layers carry thousands): 8 MB in all,
  // more than a C++ client's default 4 MiB message limit if sent as one batch.
  std::map<std::string, std::string> labels;
  for (int i = 0; i < 100; ++i) {
    labels["l" + std::to_string(i)] = std::string(4000, 'v');
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(prepare("k" + std::to_string(i), "", nullptr, labels).ok());
  }
  grpc::Status st;
  std::vector<pb::ListSnapshotsResponse> batches = list({}, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  int infos = 0;
  for (const auto& b : batches) {
    infos += b.info_size();
    EXPECT_LE(b.ByteSizeLong(), snapshotter::SnapshotsService::kListBatchBytes + 500000);
  }
  EXPECT_EQ(infos, 20);
  EXPECT_GE(batches.size(), 7u);  // about three 400 KB infos per batch
}

}  // namespace
}  // namespace nixsnap::testing
