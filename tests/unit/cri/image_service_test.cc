#include "cri/image_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "cri/cri_images.h"
#include "mocks/cri_mocks.h"

namespace nixsnap::cri {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using testing::MockCriBackend;
using testing::MockNixImagePuller;
using ::testing::Return;
using ::testing::StrictMock;

namespace v1 = runtime::v1;

const std::string kPath = "/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-nix-image-redis.tar";
const std::string kRef = "nix:0" + kPath;
const std::string kTagged = kRef + ":latest";
const std::string kId = "sha256:" + std::string(64, 'c');

MATCHER_P(StatusOf, ref, "ImageStatus request for " + std::string(ref)) {
  return arg.image().image() == ref;
}

class ImageServiceTest : public ::testing::Test {
 protected:
  ImageService& service() {
    if (!service_) {
      service_ = std::make_unique<ImageService>(backend_, puller_, options_);
    }
    return *service_;
  }

  auto& images() { return backend_->images_stub; }

  std::shared_ptr<MockCriBackend> backend_ = std::make_shared<MockCriBackend>();
  std::shared_ptr<StrictMock<MockNixImagePuller>> puller_ =
      std::make_shared<StrictMock<MockNixImagePuller>>();
  ImageServiceOptions options_;
  std::unique_ptr<ImageService> service_;
};

TEST_F(ImageServiceTest, PullImageRpcHandsNixReferencesToThePullAndAnswersTheId) {
  EXPECT_CALL(*puller_, pull(kTagged)).WillOnce(Return(kId));
  grpc::ServerContext ctx;
  v1::PullImageRequest req;
  req.mutable_image()->set_image(kTagged);
  v1::PullImageResponse resp;
  grpc::Status st = service().PullImage(&ctx, &req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.image_ref(), kId);
}

TEST_F(ImageServiceTest, NixPullErrorsKeepTheirCodeAndMessage) {
  const std::vector<Status> errors = {
      invalidArgument("parsing nix image reference \"nix:0/etc/passwd\": not in the store"),
      notFound("pulling nix image " + kRef + ": realising: don't know how to build"),
      unavailable("forwarding ImageStatus to containerd CRI at unix:///c.sock: refused"),
      Status(ErrorCode::DeadlineExceeded, "waiting for containerd CRI to list " + kTagged)};
  const std::vector<grpc::StatusCode> codes = {
      grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
      grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED};
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_CALL(*puller_, pull(kRef)).WillOnce(Return(errors[i]));
    grpc::ServerContext ctx;
    v1::PullImageRequest req;
    req.mutable_image()->set_image(kRef);
    v1::PullImageResponse resp;
    grpc::Status st = service().PullImage(&ctx, &req, &resp);
    EXPECT_EQ(st.error_code(), codes[i]) << errors[i].message();
    EXPECT_EQ(st.error_message(), errors[i].message());
    EXPECT_TRUE(resp.image_ref().empty());
  }
}

// Anything meant as a nix:0 reference goes to the nix:0 pull (which refuses the malformed
// ones), never to containerd's registry pull.
TEST_F(ImageServiceTest, NixLookalikeReferencesGoToTheNixPullNotToContainerd) {
  EXPECT_CALL(images(), PullImage(_, _, _)).Times(0);
  for (const char* ref : {"nix:0", "nix:0x", "NIX:0/etc/passwd", "nix:0../etc"}) {
    EXPECT_CALL(*puller_, pull(std::string(ref)))
        .WillOnce(
            Return(invalidArgument(std::string("parsing nix image reference \"") + ref + "\"")));
    grpc::ServerContext ctx;
    v1::PullImageRequest req;
    req.mutable_image()->set_image(ref);
    v1::PullImageResponse resp;
    grpc::Status st = service().PullImage(&ctx, &req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << ref;
    EXPECT_THAT(st.error_message(), HasSubstr(ref));
  }
}

// Issue 14: a nix:0 pull realising a large archive does not delay other CRI calls. The
// pull blocks until a forwarded ListImages has answered; a lock shared by both would
// deadlock (and the bounded wait fails the test).
TEST_F(ImageServiceTest, NixPullInFlightDoesNotDelayOtherCalls) {
  std::promise<void> pulling;
  std::promise<void> listed;
  std::shared_future<void> list_done = listed.get_future().share();
  EXPECT_CALL(*puller_, pull(kRef)).WillOnce(Invoke([&](const std::string&) {
    pulling.set_value();
    list_done.wait();
    return Result<std::string>(kId);
  }));
  EXPECT_CALL(images(), ListImages(_, _, _)).WillOnce(Return(grpc::Status::OK));
  ImageService& svc = service();
  auto pull = std::async(std::launch::async, [&] {
    grpc::ServerContext ctx;
    v1::PullImageRequest req;
    req.mutable_image()->set_image(kRef);
    v1::PullImageResponse resp;
    return svc.PullImage(&ctx, &req, &resp).ok();
  });
  pulling.get_future().wait();
  auto list = std::async(std::launch::async, [&] {
    grpc::ServerContext ctx;
    v1::ListImagesRequest req;
    v1::ListImagesResponse resp;
    bool ok = svc.ListImages(&ctx, &req, &resp).ok();
    listed.set_value();
    return ok;
  });
  ASSERT_EQ(list.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "ListImages waited for the nix:0 pull";
  EXPECT_TRUE(list.get());
  EXPECT_TRUE(pull.get());
}

TEST_F(ImageServiceTest, ForwardedCallsWithoutDeadlineGetOneFromTheInjectedClock) {
  auto clock = std::make_shared<::nixsnap::testing::ManualClock>();
  options_.clock = clock;
  options_.forward_timeout = std::chrono::milliseconds(120000);
  EXPECT_CALL(images(), ImageFsInfo(_, _, _))
      .WillOnce(Invoke(
          [&](grpc::ClientContext* ctx, const v1::ImageFsInfoRequest&, v1::ImageFsInfoResponse*) {
            EXPECT_EQ(ctx->deadline(), clock->now() + std::chrono::milliseconds(120000));
            return grpc::Status::OK;
          }));
  grpc::ServerContext ctx;
  v1::ImageFsInfoRequest req;
  v1::ImageFsInfoResponse resp;
  EXPECT_TRUE(service().ImageFsInfo(&ctx, &req, &resp).ok());
}

// GrpcCriImages: the nix:0 pull's view of containerd's CRI.
TEST(GrpcCriImagesTest, ReportsTheIdOrNothing) {
  auto backend = std::make_shared<MockCriBackend>();
  auto clock = std::make_shared<::nixsnap::testing::ManualClock>();
  EXPECT_CALL(backend->images_stub, ImageStatus(_, StatusOf(kTagged), _))
      .WillOnce(Invoke([&](grpc::ClientContext* ctx, const v1::ImageStatusRequest&,
                           v1::ImageStatusResponse* resp) {
        EXPECT_EQ(ctx->deadline(), clock->now() + std::chrono::milliseconds(5000));
        resp->mutable_image()->set_id(kId);
        return grpc::Status::OK;
      }));
  EXPECT_CALL(backend->images_stub, ImageStatus(_, StatusOf(kId), _))
      .WillOnce(Return(grpc::Status::OK));
  GrpcCriImages cri(backend, clock);
  auto found = cri.imageId(kTagged);
  ASSERT_TRUE(found.isOk()) << found.status().message();
  EXPECT_EQ(*found, kId);
  auto none = cri.imageId(kId);
  ASSERT_TRUE(none.isOk());
  EXPECT_EQ(*none, "");
}

TEST(GrpcCriImagesTest, ContainerdDownIsUnavailableNamingTheAddress) {
  auto backend = std::make_shared<MockCriBackend>();
  EXPECT_CALL(backend->images_stub, ImageStatus(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")));
  GrpcCriImages cri(backend, std::make_shared<::nixsnap::testing::ManualClock>());
  auto id = cri.imageId(kTagged);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(id.status().message(), HasSubstr(backend->address()));
}

TEST_F(ImageServiceTest, OtherReferencesAreForwardedUnchanged) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image("localhost:5000/busybox:1");
  req.mutable_auth()->set_username("u");
  EXPECT_CALL(images(), PullImage(_, _, _))
      .WillOnce(Invoke(
          [&](grpc::ClientContext*, const v1::PullImageRequest& got, v1::PullImageResponse* resp) {
            EXPECT_EQ(got.SerializeAsString(), req.SerializeAsString());
            resp->set_image_ref("sha256:feed");
            return grpc::Status::OK;
          }));
  grpc::ServerContext ctx;
  v1::PullImageResponse resp;
  grpc::Status st = service().PullImage(&ctx, &req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.image_ref(), "sha256:feed");
}

TEST_F(ImageServiceTest, OversizedReferencesAreRefusedNotForwarded) {
  EXPECT_CALL(images(), PullImage(_, _, _)).Times(0);
  EXPECT_CALL(images(), ImageStatus(_, _, _)).Times(0);
  EXPECT_CALL(images(), RemoveImage(_, _, _)).Times(0);
  const std::string huge = "localhost:5000/" + std::string(kMaxImageRefBytes, 'a') + ":1";
  grpc::ServerContext ctx;
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(huge);
  v1::PullImageResponse pull_resp;
  grpc::Status st = service().PullImage(&ctx, &pull, &pull_resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find(std::to_string(huge.size()) + " bytes"), std::string::npos);
  EXPECT_LT(st.error_message().size(), 200u) << "the reference is not echoed";
  v1::ImageStatusRequest status;
  status.mutable_image()->set_image(huge);
  v1::ImageStatusResponse status_resp;
  EXPECT_EQ(service().ImageStatus(&ctx, &status, &status_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::RemoveImageRequest remove;
  remove.mutable_image()->set_image(huge);
  v1::RemoveImageResponse remove_resp;
  EXPECT_EQ(service().RemoveImage(&ctx, &remove, &remove_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ImageServiceTest, BackendErrorsPassThroughWithTheirCode) {
  EXPECT_CALL(images(), RemoveImage(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "image \"x\" not found")));
  grpc::ServerContext ctx;
  v1::RemoveImageRequest req;
  req.mutable_image()->set_image("x");
  v1::RemoveImageResponse resp;
  grpc::Status st = service().RemoveImage(&ctx, &req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "image \"x\" not found");
}

TEST_F(ImageServiceTest, ForwardedUnavailableNamesTheAddress) {
  EXPECT_CALL(images(), ListImages(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")));
  grpc::ServerContext ctx;
  v1::ListImagesRequest req;
  v1::ListImagesResponse resp;
  grpc::Status st = service().ListImages(&ctx, &req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), HasSubstr(backend_->address()));
}

}  // namespace
}  // namespace nixsnap::cri
