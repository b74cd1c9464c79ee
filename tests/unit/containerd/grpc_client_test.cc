#include "containerd/grpc_client.h"

#include <gmock/gmock.h>
#include <grpcpp/test/mock_stream.h>
#include <gtest/gtest.h>

#include "containerd/grpc_stubs.h"
#include "containerd/services/content/v1/content_mock.grpc.pb.h"
#include "containerd/services/diff/v1/diff_mock.grpc.pb.h"
#include "containerd/services/images/v1/images_mock.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection_mock.grpc.pb.h"
#include "containerd/services/leases/v1/leases_mock.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots_mock.grpc.pb.h"
#include "containerd/services/version/v1/version_mock.grpc.pb.h"
#include "support/test_env.h"

namespace nixsnap::containerd {
namespace {

namespace cpb = ::containerd::services::content::v1;
namespace ipb = ::containerd::services::images::v1;
namespace spb = ::containerd::services::snapshots::v1;
using ::testing::_;
using ::testing::DoAll;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::testing::StrictMock;

class GrpcClientTest : public ::testing::Test {
 protected:
  GrpcClientTest() {
    auto content = std::make_unique<StrictMock<cpb::MockContentStub>>();
    auto images = std::make_unique<StrictMock<ipb::MockImagesStub>>();
    auto snapshots = std::make_unique<StrictMock<spb::MockSnapshotsStub>>();
    content_ = content.get();
    images_ = images.get();
    snapshots_ = snapshots.get();
    auto introspection = std::make_unique<
        StrictMock<::containerd::services::introspection::v1::MockIntrospectionStub>>();
    introspection_ = introspection.get();
    auto stubs = std::make_unique<Stubs>(
        Stubs{std::move(content), std::move(images), std::move(snapshots),
              std::make_unique<StrictMock<::containerd::services::diff::v1::MockDiffStub>>(),
              std::make_unique<StrictMock<::containerd::services::leases::v1::MockLeasesStub>>(),
              std::make_unique<StrictMock<::containerd::services::version::v1::MockVersionStub>>(),
              std::move(introspection)});
    client_ = std::make_unique<GrpcContainerdClient>("/run/test/containerd.sock", std::move(stubs));
  }

  cpb::MockContentStub* content_;
  ipb::MockImagesStub* images_;
  spb::MockSnapshotsStub* snapshots_;
  ::containerd::services::introspection::v1::MockIntrospectionStub* introspection_;
  std::unique_ptr<GrpcContainerdClient> client_;
  CallContext ctx_{"k8s.io", ""};
};

TEST_F(GrpcClientTest, ServerInfoReportsPidAndPidNamespace) {
  EXPECT_CALL(*introspection_, Server(_, _, _))
      .WillOnce(Invoke([](grpc::ClientContext*, const google::protobuf::Empty&,
                          ::containerd::services::introspection::v1::ServerResponse* resp) {
        resp->set_uuid("u-1");
        resp->set_pid(42);
        resp->set_pidns(4026531836);
        return grpc::Status::OK;
      }));
  auto info = client_->serverInfo(ctx_);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  EXPECT_EQ(info->uuid, "u-1");
  EXPECT_EQ(info->pid, 42u);
  EXPECT_EQ(info->pidns, 4026531836u);
}

TEST_F(GrpcClientTest, ServerInfoOfUnreachableContainerdIsUnavailableNamingIt) {
  EXPECT_CALL(*introspection_, Server(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed")));
  auto info = client_->serverInfo(ctx_);
  ASSERT_FALSE(info.isOk());
  EXPECT_EQ(info.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(info.status().message(), ::testing::HasSubstr("/run/test/containerd.sock"));
}

TEST_F(GrpcClientTest, GetImageConvertsTheResponse) {
  ipb::GetImageResponse resp;
  resp.mutable_image()->set_name("a:1");
  resp.mutable_image()->mutable_target()->set_digest("sha256:abc");
  resp.mutable_image()->mutable_target()->set_size(7);
  EXPECT_CALL(*images_, Get(_, _, _))
      .WillOnce(Invoke(
          [&](grpc::ClientContext*, const ipb::GetImageRequest& req, ipb::GetImageResponse* out) {
            EXPECT_EQ(req.name(), "a:1");
            *out = resp;
            return grpc::Status::OK;
          }));
  auto image = client_->getImage(ctx_, "a:1");
  ASSERT_TRUE(image.isOk());
  EXPECT_EQ(image->target.digest, "sha256:abc");
  EXPECT_EQ(image->target.size, 7);
}

TEST_F(GrpcClientTest, NotFoundMapsToNotFound) {
  EXPECT_CALL(*images_, Get(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "image \"a:1\": not found")));
  EXPECT_EQ(client_->getImage(ctx_, "a:1").status().code(), ErrorCode::NotFound);
}

TEST_F(GrpcClientTest, UnavailableNamesTheAddress) {
  EXPECT_CALL(*images_, Get(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed")));
  auto r = client_->getImage(ctx_, "a:1");
  EXPECT_EQ(r.status().code(), ErrorCode::Unavailable);
  EXPECT_NE(r.status().message().find("/run/test/containerd.sock"), std::string::npos);
}

TEST_F(GrpcClientTest, EmptyErrorMessageNamesTheRpcAndAddress) {
  EXPECT_CALL(*images_, Get(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "")));
  auto r = client_->getImage(ctx_, "a:1");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("a:1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("(is /run/test/containerd.sock a containerd socket?)"),
            std::string::npos)
      << r.status().message();
}

TEST(ContainerdAddressTest, RelativeOrEmptyAddressIsInvalidArgument) {
  EXPECT_TRUE(checkContainerdAddress("/run/containerd/containerd.sock").isOk());
  EXPECT_TRUE(checkContainerdAddress("unix:///run/containerd/containerd.sock").isOk());
  for (const char* a : {"relative.sock", "", "unix://relative.sock", "tcp://1.2.3.4:1"}) {
    Status st = checkContainerdAddress(a);
    ASSERT_FALSE(st.isOk()) << a;
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(st.message().find(std::string("\"") + a + "\""), std::string::npos) << st.message();
  }
  Status ns = checkContainerdNamespace("");
  EXPECT_EQ(ns.code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(ns.message(), "namespace must not be empty");
  EXPECT_TRUE(checkContainerdNamespace("k8s.io").isOk());
}

TEST_F(GrpcClientTest, PrepareSendsSnapshotterKeyParentLabelsAndReturnsMounts) {
  EXPECT_CALL(*snapshots_, Prepare(_, _, _))
      .WillOnce(Invoke([](grpc::ClientContext*, const spb::PrepareSnapshotRequest& req,
                          spb::PrepareSnapshotResponse* out) {
        EXPECT_EQ(req.snapshotter(), "nix");
        EXPECT_EQ(req.key(), "extract-1");
        EXPECT_EQ(req.parent(), "sha256:p");
        EXPECT_EQ(req.labels().at("containerd.io/snapshot/nix-layer"), "true");
        auto* m = out->add_mounts();
        m->set_type("bind");
        m->set_source("/s");
        m->set_target("/nix/store/x");
        m->add_options("ro");
        return grpc::Status::OK;
      }));
  auto mounts = client_->prepareSnapshot(ctx_, "nix", "extract-1", "sha256:p",
                                         {{"containerd.io/snapshot/nix-layer", "true"}});
  ASSERT_TRUE(mounts.isOk());
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0], (Mount{"bind", "/s", "/nix/store/x", {"ro"}}));
}

TEST_F(GrpcClientTest, PrepareAlreadyExistsIsTheSkipSignal) {
  EXPECT_CALL(*snapshots_, Prepare(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "exists")));
  EXPECT_EQ(client_->prepareSnapshot(ctx_, "nix", "k", "", {}).status().code(),
            ErrorCode::AlreadyExists);
}

using WriteStream =
    grpc::testing::MockClientReaderWriter<cpb::WriteContentRequest, cpb::WriteContentResponse>;

TEST_F(GrpcClientTest, WriteContentStatsThenCommitsWithDigestSizeAndLabels) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "blob", "hello");
  auto* stream = new StrictMock<WriteStream>();  // owned by the client's unique_ptr
  std::vector<cpb::WriteContentRequest> sent;
  EXPECT_CALL(*content_, WriteRaw(_)).WillOnce(Return(stream));
  EXPECT_CALL(*stream, Write(_, _))
      .Times(2)
      .WillRepeatedly(Invoke([&](const cpb::WriteContentRequest& r, grpc::WriteOptions) {
        sent.push_back(r);
        return true;
      }));
  cpb::WriteContentResponse stat;
  stat.set_offset(0);
  EXPECT_CALL(*stream, Read(_))
      .WillOnce(DoAll(SetArgPointee<0>(stat), Return(true)))
      .WillOnce(DoAll(SetArgPointee<0>(stat), Return(true)))
      .WillOnce(DoAll(SetArgPointee<0>(stat), Return(true)))  // containerd's extra message
      .WillOnce(Return(false));
  EXPECT_CALL(*stream, WritesDone()).WillOnce(Return(true));
  EXPECT_CALL(*stream, Finish()).WillOnce(Return(grpc::Status::OK));
  Status st = client_->writeContent(ctx_, "ref-1", dir.path() / "blob", "sha256:x", 5,
                                    {{"containerd.io/uncompressed", "sha256:y"}});
  ASSERT_TRUE(st.isOk()) << st.toString();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].action(), cpb::STAT);
  EXPECT_EQ(sent[0].ref(), "ref-1");
  EXPECT_EQ(sent[0].expected(), "sha256:x");
  EXPECT_EQ(sent[0].total(), 5);
  EXPECT_EQ(sent[1].action(), cpb::COMMIT);
  EXPECT_EQ(sent[1].data(), "hello");
  EXPECT_EQ(sent[1].total(), 5);
  EXPECT_EQ(sent[1].labels().at("containerd.io/uncompressed"), "sha256:y");
}

TEST_F(GrpcClientTest, WriteContentOfExistingBlobIsOk) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "blob", "hello");
  auto* stream = new StrictMock<WriteStream>();
  EXPECT_CALL(*content_, WriteRaw(_)).WillOnce(Return(stream));
  EXPECT_CALL(*stream, Write(_, _)).WillOnce(Return(true));
  EXPECT_CALL(*stream, Read(_)).WillRepeatedly(Return(false));
  EXPECT_CALL(*stream, WritesDone()).WillOnce(Return(true));
  EXPECT_CALL(*stream, Finish())
      .WillOnce(Return(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "blob exists")));
  EXPECT_TRUE(client_->writeContent(ctx_, "r", dir.path() / "blob", "sha256:x", 5, {}).isOk());
}

TEST_F(GrpcClientTest, WriteContentDigestMismatchIsAnError) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "blob", "hello");
  auto* stream = new StrictMock<WriteStream>();
  EXPECT_CALL(*content_, WriteRaw(_)).WillOnce(Return(stream));
  EXPECT_CALL(*stream, Write(_, _)).WillRepeatedly(Return(true));
  cpb::WriteContentResponse resp;
  EXPECT_CALL(*stream, Read(_))
      .WillOnce(DoAll(SetArgPointee<0>(resp), Return(true)))
      .WillRepeatedly(Return(false));
  EXPECT_CALL(*stream, WritesDone()).WillOnce(Return(true));
  EXPECT_CALL(*stream, Finish())
      .WillOnce(
          Return(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "unexpected commit digest")));
  Status st = client_->writeContent(ctx_, "r", dir.path() / "blob", "sha256:x", 5, {});
  EXPECT_EQ(st.code(), ErrorCode::FailedPrecondition);
  EXPECT_NE(st.message().find("sha256:x"), std::string::npos);
}

TEST(GrpcClientFactoryTest, DownContainerdFailsFastWithUnavailable) {
  auto dir = testing::makeTempDir();
  auto client = makeGrpcContainerdClient((dir.path() / "none.sock").string());
  auto r = client->version({});
  // Unavailable, not DeadlineExceeded: the call failed rather than waited for the socket.
  EXPECT_EQ(r.status().code(), ErrorCode::Unavailable);
  EXPECT_NE(r.status().message().find("none.sock"), std::string::npos);
}

}  // namespace
}  // namespace nixsnap::containerd
