#include "image/pusher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "image/builder.h"
#include "mocks/registry_mocks.h"
#include "oci/digest.h"
#include "recording_progress.h"
#include "support/test_env.h"

namespace nixsnap::image {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StrictMock;

class PusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The builder refuses store paths it cannot see: the test's own store holds it.
    fs::path store = dir_.path() / "nix/store";
    fs::create_directories(store / (std::string(32, 'b') + "-hello"));
    testing::writeFile(dir_.path() / "closure",
                       (store / (std::string(32, 'b') + "-hello")).string() + "\n");
    BuildOptions opts;
    opts.store_dir = store;
    opts.closure = dir_.path() / "closure";
    opts.out = archive_;
    opts.ref = "reg.example.org/team/app:1";
    auto built = buildImage(opts);
    ASSERT_TRUE(built.isOk()) << built.status().toString();
    manifest_digest_ = built->manifest_digest;
  }

  TempDir dir_ = testing::makeTempDir();
  fs::path archive_ = dir_.path() / "img.tar";
  std::string manifest_digest_;
  StrictMock<testing::MockRegistryClient> client_;
};

auto ref() {
  return AllOf(Field(&registry::Reference::host, "reg.example.org"),
               Field(&registry::Reference::repository, "team/app"),
               Field(&registry::Reference::tag, "1"));
}

TEST_F(PusherTest, UploadsOnlyMissingBlobsThenTheManifest) {
  ::testing::Sequence blobs;
  // One Nix layer and the config: the layer is already there, the config is not.
  EXPECT_CALL(client_, hasBlob(ref(), _)).InSequence(blobs).WillOnce(Return(true));
  std::string config_digest;
  EXPECT_CALL(client_, hasBlob(ref(), _))
      .InSequence(blobs)
      .WillOnce([&](const registry::Reference&, const std::string& d) -> Result<bool> {
        config_digest = d;
        return false;
      });
  EXPECT_CALL(client_, uploadBlob(ref(), _, _))
      .InSequence(blobs)
      .WillOnce([&](const registry::Reference&, const std::string& d, const fs::path& blob) {
        EXPECT_EQ(d, config_digest);
        auto actual = oci::digestFile(blob);
        EXPECT_TRUE(actual.isOk());
        EXPECT_EQ(actual->digest, d);  // the blob streamed is the one named
        return Status::ok();
      });
  std::string manifest_body;
  EXPECT_CALL(client_, putManifest(ref(), "application/vnd.oci.image.manifest.v1+json", _))
      .InSequence(blobs)
      .WillOnce([&](const registry::Reference&, const std::string&, const std::string& body) {
        manifest_body = body;
        return Status::ok();
      });
  auto pushed = pushImage(client_, archive_, "reg.example.org/team/app:1", dir_.path());
  ASSERT_TRUE(pushed.isOk()) << pushed.status().toString();
  EXPECT_EQ(*pushed, manifest_digest_);
  EXPECT_EQ(oci::digestOf(manifest_body), manifest_digest_);  // byte-exact manifest
}

TEST_F(PusherTest, ReportsBlobsUploadedOrSkippedAndTheManifest) {
  EXPECT_CALL(client_, hasBlob(_, _)).WillOnce(Return(true)).WillOnce(Return(false));
  EXPECT_CALL(client_, uploadBlob(_, _, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(client_, putManifest(_, _, _)).WillOnce(Return(Status::ok()));
  testing::RecordingProgress progress;
  auto pushed = pushImage(client_, archive_, "reg.example.org/team/app:1", dir_.path(), &progress);
  ASSERT_TRUE(pushed.isOk()) << pushed.status().toString();
  using K = ProgressEvent::Kind;
  EXPECT_EQ(progress.kinds(),
            (std::vector<K>{K::BlobSkipped, K::BlobStarted, K::BlobWritten, K::ManifestPushed}));
  EXPECT_EQ(progress.events.back().digest, manifest_digest_);
  EXPECT_EQ(progress.events.back().name, "reg.example.org/team/app:1");
  EXPECT_GT(progress.events[2].size_bytes, 0);
}

TEST_F(PusherTest, RegistryErrorsStopThePushBeforeTheManifest) {
  EXPECT_CALL(client_, hasBlob(_, _)).WillOnce(Return(false));
  EXPECT_CALL(client_, uploadBlob(_, _, _))
      .WillOnce(Return(Status(ErrorCode::PermissionDenied, "HTTP 401 unauthorized")));
  auto pushed = pushImage(client_, archive_, "reg.example.org/team/app:1", dir_.path());
  EXPECT_EQ(pushed.status().code(), ErrorCode::PermissionDenied);
}

TEST_F(PusherTest, BadReferenceOrArchiveIsRefusedBeforeAnyRequest) {
  EXPECT_EQ(pushImage(client_, archive_, "reg.example.org/App:1", dir_.path()).status().code(),
            ErrorCode::InvalidArgument);
  testing::writeFile(dir_.path() / "junk.tar", "not a tar");
  auto pushed = pushImage(client_, dir_.path() / "junk.tar", "reg.example.org/a:1", dir_.path());
  EXPECT_FALSE(pushed.isOk());
  EXPECT_THAT(pushed.status().message(), HasSubstr("junk.tar"));
}

TEST_F(PusherTest, ShortNamesArePushedToDockerHub) {
  auto hub = AllOf(Field(&registry::Reference::host, "docker.io"),
                   Field(&registry::Reference::repository, "library/app"),
                   Field(&registry::Reference::tag, "1"),
                   Field(&registry::Reference::endpoint, "registry-1.docker.io"));
  EXPECT_CALL(client_, hasBlob(hub, _)).Times(2).WillRepeatedly(Return(true));
  EXPECT_CALL(client_, putManifest(hub, _, _)).WillOnce(Return(Status::ok()));
  auto pushed = pushImage(client_, archive_, "app:1", dir_.path());
  ASSERT_TRUE(pushed.isOk()) << pushed.status().toString();
}

}  // namespace
}  // namespace nixsnap::image
