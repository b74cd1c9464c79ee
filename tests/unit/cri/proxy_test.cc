// The image service as a real gRPC server in front of a fake containerd CRI, both on
// unix sockets in a temp dir: forwarding byte for byte (unknown fields included),
// fail-fast while containerd is down, recovery when it comes back.
#include <gmock/gmock.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "cri/cri_backend.h"
#include "cri/cri_images.h"
#include "cri/image_service.h"
#include "mocks/containerd_mocks.h"
#include "mocks/cri_mocks.h"
#include "mocks/nix_mocks.h"
#include "support/test_env.h"

namespace nixsnap::cri {
namespace {

namespace v1 = runtime::v1;
using ::testing::HasSubstr;
using ::testing::StrictMock;

// containerd's CRI image service as a fake: records the raw bytes it receives and
// answers with a response carrying unknown fields of its own.
class FakeContainerdImages : public v1::ImageService::Service {
 public:
  grpc::Status ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* req,
                           v1::ImageStatusResponse* resp) override {
    record(*req);
    resp->mutable_image()->set_id("sha256:abc");
    auto* unknown = resp->GetReflection()->MutableUnknownFields(resp);
    unknown->AddVarint(77, 7);
    unknown->AddLengthDelimited(78, "from containerd");
    return grpc::Status::OK;
  }
  grpc::Status ListImages(grpc::ServerContext*, const v1::ListImagesRequest* req,
                          v1::ListImagesResponse* resp) override {
    record(*req);
    resp->add_images()->set_id("sha256:abc");
    return grpc::Status::OK;
  }
  grpc::Status PullImage(grpc::ServerContext*, const v1::PullImageRequest* req,
                         v1::PullImageResponse* resp) override {
    record(*req);
    resp->set_image_ref("sha256:pulled");
    return grpc::Status::OK;
  }
  grpc::Status RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* req,
                           v1::RemoveImageResponse*) override {
    record(*req);
    return {grpc::StatusCode::NOT_FOUND, "no such image"};
  }
  grpc::Status ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest* req,
                           v1::ImageFsInfoResponse* resp) override {
    record(*req);
    resp->add_image_filesystems()->mutable_fs_id()->set_mountpoint("/var/lib/containerd");
    return grpc::Status::OK;
  }

  std::string lastRequestBytes() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  void record(const google::protobuf::Message& m) {
    std::lock_guard lock(mu_);
    last_ = m.SerializeAsString();
  }
  std::mutex mu_;
  std::string last_;
};

std::unique_ptr<grpc::Server> serve(const std::string& socket, grpc::Service* service) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

class ProxyTest : public ::testing::Test {
 protected:
  ProxyTest()
      : dir_(::nixsnap::testing::makeTempDir()),
        containerd_sock_((dir_.path() / "c.sock").string()),
        proxy_sock_((dir_.path() / "p.sock").string()) {
    auto channel = makeBackendChannel(containerd_sock_);
    auto backend = makeGrpcCriBackend(channel, containerd_sock_);
    // The real nix:0 pull over the real CRI channel; Nix, the loader and containerd's
    // images API are strict doubles (no nix:0 pull here gets that far).
    image::NixImagePullOptions pull_options;
    pull_options.gc_root_dir = dir_.path() / "pull-gcroots";
    image::NixImagePullDeps deps{std::make_shared<GrpcCriImages>(backend, makeSystemClock()),
                                 loader_,
                                 store_,
                                 containerd_api_,
                                 makeSystemClock(),
                                 makeThreadSleeper(),
                                 makeSystemRandom()};
    service_ = std::make_unique<ImageService>(
        backend, std::make_shared<image::NixImagePull>(std::move(deps), pull_options));
    proxy_ = serve(proxy_sock_, service_.get());
    stub_ = v1::ImageService::NewStub(
        grpc::CreateChannel("unix://" + proxy_sock_, grpc::InsecureChannelCredentials()));
  }

  ~ProxyTest() override {
    if (containerd_) {
      containerd_->Shutdown();
    }
    proxy_->Shutdown();
  }

  void startContainerd() { containerd_ = serve(containerd_sock_, &fake_); }

  static std::unique_ptr<grpc::ClientContext> context(std::chrono::milliseconds timeout) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + timeout);
    return ctx;
  }

  TempDir dir_;
  std::string containerd_sock_;
  std::string proxy_sock_;
  FakeContainerdImages fake_;
  std::shared_ptr<StrictMock<image::testing::MockLoader>> loader_ =
      std::make_shared<StrictMock<image::testing::MockLoader>>();
  std::shared_ptr<StrictMock<::nixsnap::testing::MockNixStore>> store_ =
      std::make_shared<StrictMock<::nixsnap::testing::MockNixStore>>();
  std::shared_ptr<StrictMock<::nixsnap::testing::MockContainerdClient>> containerd_api_ =
      std::make_shared<StrictMock<::nixsnap::testing::MockContainerdClient>>();
  std::unique_ptr<ImageService> service_;
  std::unique_ptr<grpc::Server> proxy_;
  std::unique_ptr<grpc::Server> containerd_;
  std::unique_ptr<v1::ImageService::Stub> stub_;
};

TEST_F(ProxyTest, UnknownFieldsSurviveTheRoundTripBothWays) {
  startContainerd();
  v1::ImageStatusRequest req;
  req.mutable_image()->set_image("docker.io/library/redis:7");
  req.set_verbose(true);
  // Fields a newer kubelet might send that this project's proto does not model.
  auto* unknown = req.GetReflection()->MutableUnknownFields(&req);
  unknown->AddVarint(99, 12345);
  unknown->AddLengthDelimited(100, std::string("\x01\x02raw\x00bytes", 11));
  unknown->AddFixed64(101, 0x1122334455667788ULL);
  auto* spec = req.mutable_image();
  spec->GetReflection()->MutableUnknownFields(spec)->AddLengthDelimited(21, "nested unknown");

  v1::ImageStatusResponse resp;
  auto ctx = context(std::chrono::seconds(10));
  grpc::Status st = stub_->ImageStatus(ctx.get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  // Byte for byte what the client sent.
  EXPECT_EQ(fake_.lastRequestBytes(), req.SerializeAsString());
  v1::ImageStatusRequest got;
  ASSERT_TRUE(got.ParseFromString(fake_.lastRequestBytes()));
  const auto& got_unknown = got.GetReflection()->GetUnknownFields(got);
  ASSERT_EQ(got_unknown.field_count(), 3);
  EXPECT_EQ(got_unknown.field(0).number(), 99);
  EXPECT_EQ(got_unknown.field(0).varint(), 12345u);
  EXPECT_EQ(got_unknown.field(1).length_delimited(), std::string("\x01\x02raw\x00bytes", 11));
  EXPECT_EQ(got_unknown.field(2).fixed64(), 0x1122334455667788ULL);
  const auto& got_spec = got.image().GetReflection()->GetUnknownFields(got.image());
  ASSERT_EQ(got_spec.field_count(), 1);
  EXPECT_EQ(got_spec.field(0).length_delimited(), "nested unknown");

  // And containerd's unknown fields reach the client.
  const auto& resp_unknown = resp.GetReflection()->GetUnknownFields(resp);
  ASSERT_EQ(resp_unknown.field_count(), 2);
  EXPECT_EQ(resp_unknown.field(0).varint(), 7u);
  EXPECT_EQ(resp_unknown.field(1).length_delimited(), "from containerd");
  EXPECT_EQ(resp.image().id(), "sha256:abc");
}

TEST_F(ProxyTest, EveryRpcIsForwarded) {
  startContainerd();
  {
    v1::ListImagesRequest req;
    req.mutable_filter()->mutable_image()->set_image("redis");
    v1::ListImagesResponse resp;
    auto ctx = context(std::chrono::seconds(10));
    ASSERT_TRUE(stub_->ListImages(ctx.get(), req, &resp).ok());
    EXPECT_EQ(fake_.lastRequestBytes(), req.SerializeAsString());
    ASSERT_EQ(resp.images_size(), 1);
  }
  {
    v1::PullImageRequest req;
    req.mutable_image()->set_image("127.0.0.1:5000/busybox:latest");
    req.mutable_auth()->set_username("user");
    req.mutable_sandbox_config()->mutable_metadata()->set_name("pod");
    v1::PullImageResponse resp;
    auto ctx = context(std::chrono::seconds(10));
    ASSERT_TRUE(stub_->PullImage(ctx.get(), req, &resp).ok());
    EXPECT_EQ(fake_.lastRequestBytes(), req.SerializeAsString());
    EXPECT_EQ(resp.image_ref(), "sha256:pulled");
  }
  {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image("gone");
    v1::RemoveImageResponse resp;
    auto ctx = context(std::chrono::seconds(10));
    grpc::Status st = stub_->RemoveImage(ctx.get(), req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(st.error_message(), "no such image");
  }
  {
    v1::ImageFsInfoRequest req;
    v1::ImageFsInfoResponse resp;
    auto ctx = context(std::chrono::seconds(10));
    ASSERT_TRUE(stub_->ImageFsInfo(ctx.get(), req, &resp).ok());
    ASSERT_EQ(resp.image_filesystems_size(), 1);
    EXPECT_EQ(resp.image_filesystems(0).fs_id().mountpoint(), "/var/lib/containerd");
  }
}

TEST_F(ProxyTest, ContainerdDownFailsFastThenRecovers) {
  // Nothing listens on the containerd socket yet.
  v1::ListImagesRequest req;
  v1::ListImagesResponse resp;
  auto ctx = context(std::chrono::seconds(20));
  grpc::Status st = stub_->ListImages(ctx.get(), req, &resp);
  // UNAVAILABLE, not DEADLINE_EXCEEDED: the call failed rather than waited for the socket.
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), HasSubstr(containerd_sock_));

  // A nix:0 pull fails the same way, before anything is realised or loaded.
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(
      "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-nix-image-redis.tar");
  v1::PullImageResponse pulled;
  auto pull_ctx = context(std::chrono::seconds(20));
  st = stub_->PullImage(pull_ctx.get(), pull, &pulled);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), HasSubstr(containerd_sock_));

  startContainerd();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  grpc::Status last;
  do {
    auto retry = context(std::chrono::seconds(5));
    last = stub_->ListImages(retry.get(), req, &resp);
    if (last.ok()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < until);
  ASSERT_TRUE(last.ok()) << last.error_message();
  EXPECT_EQ(resp.images_size(), 1);
}

}  // namespace
}  // namespace nixsnap::cri
