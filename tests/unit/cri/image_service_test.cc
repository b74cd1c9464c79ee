#include "cri/image_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "mocks/cri_mocks.h"

namespace nixsnap::cri {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::StrictMock;
using testing::MockArchiveSource;
using testing::MockCriBackend;
using testing::MockImageRemover;
using testing::MockLoader;

namespace v1 = runtime::v1;

const std::string kPath = "/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-nix-image-redis.tar";
const std::string kRef = "nix:0" + kPath;
const std::string kTagged = kRef + ":latest";
const std::string kId = "sha256:" + std::string(64, 'c');

MATCHER_P(StatusOf, ref, "ImageStatus request for " + std::string(ref)) {
  return arg.image().image() == ref;
}

// An ImageStatus answer: the image with `id`, or no image when `id` is empty.
auto answer(const std::string& id) {
  return Invoke([id](grpc::ClientContext*, const v1::ImageStatusRequest&,
                     v1::ImageStatusResponse* resp) {
    if (!id.empty()) {
      resp->mutable_image()->set_id(id);
    }
    return grpc::Status::OK;
  });
}

std::vector<image::LoadedImage> loadedImage() {
  return {image::LoadedImage{kTagged, "sha256:" + std::string(64, 'm'), kId}};
}

class ImageServiceTest : public ::testing::Test {
 protected:
  ImageServiceTest() {
    options_.visible_timeout = std::chrono::milliseconds(300);
    options_.visible_poll = std::chrono::milliseconds(5);
  }

  ImageService& service() {
    if (!service_) {
      service_ = std::make_unique<ImageService>(backend_, loader_, archives_, remover_, options_);
    }
    return *service_;
  }

  auto& images() { return backend_->images_stub; }

  std::shared_ptr<MockCriBackend> backend_ = std::make_shared<MockCriBackend>();
  std::shared_ptr<StrictMock<MockLoader>> loader_ = std::make_shared<StrictMock<MockLoader>>();
  std::shared_ptr<StrictMock<MockArchiveSource>> archives_ =
      std::make_shared<StrictMock<MockArchiveSource>>();
  std::shared_ptr<StrictMock<MockImageRemover>> remover_ =
      std::make_shared<StrictMock<MockImageRemover>>();
  ImageServiceOptions options_;
  std::unique_ptr<ImageService> service_;
};

TEST_F(ImageServiceTest, PullNixImageLoadsIntoK8sNamespaceAndReturnsConfigDigest) {
  {
    InSequence seq;
    EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillOnce(answer(""));
    EXPECT_CALL(*archives_, ensureValid(fs::path(kPath))).WillOnce(Return(Status::ok()));
    EXPECT_CALL(*loader_,
                load(fs::path(kPath),
                     AllOf(Field(&image::LoadOptions::ns, "k8s.io"),
                           Field(&image::LoadOptions::snapshotter, "nix"),
                           Field(&image::LoadOptions::extra_names,
                                 std::vector<std::string>{kTagged}),
                           Field(&image::LoadOptions::archive_names, false))))
        .WillOnce(Return(loadedImage()));
    EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillOnce(answer(kId));
    EXPECT_CALL(images(), ImageStatus(_, StatusOf(kId), _)).WillOnce(answer(kId));
  }
  auto id = service().pullNixImage(kRef);
  ASSERT_TRUE(id.isOk()) << id.status().message();
  EXPECT_EQ(*id, kId);
}

TEST_F(ImageServiceTest, PullImageRpcAnswersImageRefAndAcceptsLatestTag) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _))
      .WillOnce(answer(""))
      .WillOnce(answer(kId));
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kId), _)).WillOnce(answer(kId));
  EXPECT_CALL(*archives_, ensureValid(fs::path(kPath))).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(fs::path(kPath), _)).WillOnce(Return(loadedImage()));
  grpc::ServerContext ctx;
  v1::PullImageRequest req;
  req.mutable_image()->set_image(kTagged);
  v1::PullImageResponse resp;
  grpc::Status st = service().PullImage(&ctx, &req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.image_ref(), kId);
}

TEST_F(ImageServiceTest, WaitsUntilContainerdCriListsTheImage) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _))
      .WillOnce(answer(""))   // before the load
      .WillOnce(answer(""))   // event not handled yet
      .WillOnce(answer(""))
      .WillOnce(answer(kId));
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kId), _)).WillOnce(answer(kId));
  EXPECT_CALL(*archives_, ensureValid(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(loadedImage()));
  auto id = service().pullNixImage(kRef);
  ASSERT_TRUE(id.isOk()) << id.status().message();
  EXPECT_EQ(*id, kId);
}

TEST_F(ImageServiceTest, MalformedReferenceIsInvalidArgumentAndTouchesNothing) {
  grpc::ServerContext ctx;
  v1::PullImageRequest req;
  req.mutable_image()->set_image("nix:0/etc/passwd");
  v1::PullImageResponse resp;
  grpc::Status st = service().PullImage(&ctx, &req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("nix:0/etc/passwd"));
  EXPECT_TRUE(resp.image_ref().empty());
}

TEST_F(ImageServiceTest, NixLookalikeReferencesAreRefusedNotForwarded) {
  for (const char* ref : {"nix:0", "nix:0x", "NIX:0/etc/passwd", "nix:0../etc"}) {
    grpc::ServerContext ctx;
    v1::PullImageRequest req;
    req.mutable_image()->set_image(ref);
    v1::PullImageResponse resp;
    grpc::Status st = service().PullImage(&ctx, &req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << ref;
    EXPECT_THAT(st.error_message(), HasSubstr(ref));
  }
}

TEST_F(ImageServiceTest, UnrealisableArchiveIsNotFoundAndLoadsNothing) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillOnce(answer(""));
  EXPECT_CALL(*archives_, ensureValid(fs::path(kPath)))
      .WillOnce(Return(notFound("realising " + kPath + ": nix-store exited 1")));
  auto id = service().pullNixImage(kRef);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(id.status().message(), HasSubstr(kPath));
}

TEST_F(ImageServiceTest, NotAnImageArchiveIsInvalidArgument) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillOnce(answer(""));
  EXPECT_CALL(*archives_, ensureValid(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _))
      .WillOnce(Return(invalidArgument("reading archive " + kPath + ": no index.json")));
  auto id = service().pullNixImage(kRef);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr(kRef));
}

TEST_F(ImageServiceTest, EmptyArchiveIsInvalidArgument) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillOnce(answer(""));
  EXPECT_CALL(*archives_, ensureValid(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(std::vector<image::LoadedImage>{}));
  auto id = service().pullNixImage(kRef);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
}

TEST_F(ImageServiceTest, ContainerdDownIsUnavailableNamingTheAddressBeforeRealising) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")));
  auto id = service().pullNixImage(kRef);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(id.status().message(), HasSubstr(backend_->address()));
}

TEST_F(ImageServiceTest, LoaderUnavailableIsUnavailable) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillOnce(answer(""));
  EXPECT_CALL(*archives_, ensureValid(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _))
      .WillOnce(Return(unavailable("containerd at /run/c.sock: connection refused")));
  auto id = service().pullNixImage(kRef);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::Unavailable);
}

TEST_F(ImageServiceTest, ImageNeverListedIsUndoneAndDeadlineExceeded) {
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillRepeatedly(answer(""));
  EXPECT_CALL(*archives_, ensureValid(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(loadedImage()));
  EXPECT_CALL(*remover_, removeImage("k8s.io", kTagged)).WillOnce(Return(Status::ok()));
  auto id = service().pullNixImage(kRef);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::DeadlineExceeded);
}

TEST_F(ImageServiceTest, ImageNeverListedKeepsAnImageThatExistedBefore) {
  const std::string old_id = "sha256:" + std::string(64, 'a');
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _)).WillRepeatedly(answer(old_id));
  EXPECT_CALL(*archives_, ensureValid(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(loadedImage()));
  auto id = service().pullNixImage(kRef);
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::DeadlineExceeded);
}

TEST_F(ImageServiceTest, ConcurrentPullsOfOneReferenceLoadOnce) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> loading;
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kTagged), _))
      .WillOnce(answer(""))
      .WillOnce(answer(kId));
  EXPECT_CALL(images(), ImageStatus(_, StatusOf(kId), _)).WillOnce(answer(kId));
  EXPECT_CALL(*archives_, ensureValid(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Invoke([&](const fs::path&, const image::LoadOptions&) {
    loading.set_value();
    released.wait();
    return Result<std::vector<image::LoadedImage>>(loadedImage());
  }));
  ImageService& svc = service();
  std::vector<std::future<Result<std::string>>> pulls;
  pulls.push_back(std::async(std::launch::async, [&] { return svc.pullNixImage(kRef); }));
  loading.get_future().wait();
  for (int i = 0; i < 5; ++i) {
    // The second spelling shares the flight: it is keyed by the store path.
    std::string ref = i % 2 == 0 ? kRef : kTagged;
    pulls.push_back(std::async(std::launch::async, [&svc, ref] { return svc.pullNixImage(ref); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  release.set_value();
  for (auto& pull : pulls) {
    auto id = pull.get();
    ASSERT_TRUE(id.isOk()) << id.status().message();
    EXPECT_EQ(*id, kId);
  }
}

TEST_F(ImageServiceTest, OtherReferencesAreForwardedUnchanged) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image("localhost:5000/busybox:1");
  req.mutable_auth()->set_username("u");
  EXPECT_CALL(images(), PullImage(_, _, _))
      .WillOnce(Invoke([&](grpc::ClientContext*, const v1::PullImageRequest& got,
                           v1::PullImageResponse* resp) {
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
