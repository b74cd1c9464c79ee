// chooseMountMode: rootless path checks and the overlay flavour, against a HostProbe double.
#include "server/rootless_mode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nixsnap::server {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;

class MockHostProbe : public HostProbe {
 public:
  MOCK_METHOD(bool, inUserNamespace, (), (override));
  MOCK_METHOD(uid_t, effectiveUid, (), (override));
  MOCK_METHOD(Status, ownedWritableDir, (const fs::path&), (override));
  MOCK_METHOD(Status, readableDir, (const fs::path&), (override));
  MOCK_METHOD(Status, connectableSocket, (const fs::path&), (override));
  MOCK_METHOD(Status, overlayWithUserxattr, (const fs::path&), (override));
  MOCK_METHOD(Status, fuseOverlayfsUsable, (), (override));
};

class RootlessModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config.root = "/home/alice/.local/share/containerd/io.containerd.snapshotter.v1.nix";
    ON_CALL(probe, inUserNamespace()).WillByDefault(Return(true));
    ON_CALL(probe, effectiveUid()).WillByDefault(Return(0));
    ON_CALL(probe, ownedWritableDir(_)).WillByDefault(Return(Status::ok()));
    ON_CALL(probe, readableDir(_)).WillByDefault(Return(Status::ok()));
    ON_CALL(probe, connectableSocket(_)).WillByDefault(Return(Status::ok()));
    ON_CALL(probe, overlayWithUserxattr(_)).WillByDefault(Return(Status::ok()));
    ON_CALL(probe, fuseOverlayfsUsable()).WillByDefault(Return(Status::ok()));
  }
  NiceMock<MockHostProbe> probe;
  config::Config config;
};

TEST_F(RootlessModeTest, NotRootlessKeepsTheConfigAndProbesNothing) {
  EXPECT_CALL(probe, inUserNamespace()).WillOnce(Return(false));
  EXPECT_CALL(probe, overlayWithUserxattr(_)).Times(0);
  EXPECT_CALL(probe, ownedWritableDir(_)).Times(0);
  config.fuse_overlayfs = true;
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_FALSE(m->rootless);
  EXPECT_TRUE(m->fuse_overlayfs);
  EXPECT_FALSE(m->userxattr);
}

TEST_F(RootlessModeTest, NonZeroUidOutsideAUserNamespaceIsRootless) {
  ON_CALL(probe, inUserNamespace()).WillByDefault(Return(false));
  ON_CALL(probe, effectiveUid()).WillByDefault(Return(1000));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_TRUE(m.isOk());
  EXPECT_TRUE(m->rootless);
}

TEST_F(RootlessModeTest, KernelOverlayWithUserxattrWhenTheProbeMounts) {
  EXPECT_CALL(probe, overlayWithUserxattr(fs::path(config.root))).WillOnce(Return(Status::ok()));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_TRUE(m.isOk());
  EXPECT_TRUE(m->rootless);
  EXPECT_TRUE(m->userxattr);
  EXPECT_FALSE(m->fuse_overlayfs);
  EXPECT_THAT(m->reason, HasSubstr("userxattr"));
}

TEST_F(RootlessModeTest, FuseOverlayfsWhenKernelOverlayFailsWithTheReason) {
  ON_CALL(probe, overlayWithUserxattr(_))
      .WillByDefault(Return(Status(ErrorCode::PermissionDenied, "mount: Operation not permitted")));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_TRUE(m.isOk());
  EXPECT_TRUE(m->fuse_overlayfs);
  EXPECT_FALSE(m->userxattr);
  EXPECT_THAT(m->reason, HasSubstr("Operation not permitted"));
}

TEST_F(RootlessModeTest, ForcedFuseSkipsTheKernelProbe) {
  config.fuse_overlayfs = true;
  EXPECT_CALL(probe, overlayWithUserxattr(_)).Times(0);
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_TRUE(m.isOk());
  EXPECT_TRUE(m->fuse_overlayfs);
  EXPECT_THAT(m->reason, HasSubstr("config"));
}

TEST_F(RootlessModeTest, ForcedFuseWithoutFuseIsRefused) {
  config.fuse_overlayfs = true;
  ON_CALL(probe, fuseOverlayfsUsable())
      .WillByDefault(Return(failedPrecondition("fuse-overlayfs is not on PATH")));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_FALSE(m.isOk());
  EXPECT_EQ(ErrorCode::FailedPrecondition, m.status().code());
  EXPECT_THAT(m.status().message(), HasSubstr("fuse-overlayfs is not on PATH"));
}

TEST_F(RootlessModeTest, NeitherFlavourIsRefusedNamingBoth) {
  ON_CALL(probe, overlayWithUserxattr(_)).WillByDefault(Return(internalError("EINVAL")));
  ON_CALL(probe, fuseOverlayfsUsable()).WillByDefault(Return(internalError("/dev/fuse: ENOENT")));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_FALSE(m.isOk());
  EXPECT_THAT(m.status().message(), HasSubstr("EINVAL"));
  EXPECT_THAT(m.status().message(), HasSubstr("/dev/fuse"));
}

TEST_F(RootlessModeTest, RootTheUserCannotUseIsRefusedNamingIt) {
  config.root = "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
  EXPECT_CALL(probe, ownedWritableDir(fs::path(config.root)))
      .WillOnce(Return(failedPrecondition("owned by uid 65534")));
  EXPECT_CALL(probe, overlayWithUserxattr(_)).Times(0);
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_FALSE(m.isOk());
  EXPECT_EQ(ErrorCode::FailedPrecondition, m.status().code());
  EXPECT_THAT(m.status().message(), HasSubstr("\"" + config.root + "\""));
  EXPECT_THAT(m.status().message(), HasSubstr("owned by uid 65534"));
}

TEST_F(RootlessModeTest, UnreadableStoreIsRefusedNamingIt) {
  config.store_dir = "/srv/store";
  ON_CALL(probe, readableDir(fs::path("/srv/store")))
      .WillByDefault(Return(Status(ErrorCode::PermissionDenied, "not readable")));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "daemon");
  ASSERT_FALSE(m.isOk());
  EXPECT_THAT(m.status().message(), HasSubstr("store \"/srv/store\""));
}

TEST_F(RootlessModeTest, UnusableNixDaemonSocketIsRefusedNamingIt) {
  ON_CALL(probe, connectableSocket(fs::path("/nix/var/nix/daemon-socket/socket")))
      .WillByDefault(Return(Status(ErrorCode::PermissionDenied, "cannot connect")));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "");
  ASSERT_FALSE(m.isOk());
  EXPECT_EQ(m.status().code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(m.status().message(), HasSubstr("\"/nix/var/nix/daemon-socket/socket\""));
  EXPECT_THAT(m.status().message(), HasSubstr("nix-users"));
}

TEST_F(RootlessModeTest, NixRemoteSocketIsTheOneChecked) {
  EXPECT_CALL(probe, connectableSocket(fs::path("/run/nix/sock")))
      .WillOnce(Return(Status(ErrorCode::NotFound, "stat: No such file or directory")));
  Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", "unix:///run/nix/sock");
  ASSERT_FALSE(m.isOk());
  EXPECT_THAT(m.status().message(), HasSubstr("\"/run/nix/sock\""));
}

TEST_F(RootlessModeTest, LocalStoreIsRefused) {
  for (const char* remote : {"local", "local?root=/tmp/x"}) {
    Result<MountMode> m = chooseMountMode(probe, config, "/nix/var/nix", remote);
    ASSERT_FALSE(m.isOk()) << remote;
    EXPECT_THAT(m.status().message(), HasSubstr(std::string("NIX_REMOTE=") + remote));
  }
}

TEST(NixDaemonSocketTest, FollowsNixRemote) {
  EXPECT_EQ(nixDaemonSocket("", "/nix/var/nix"), "/nix/var/nix/daemon-socket/socket");
  EXPECT_EQ(nixDaemonSocket("daemon", "/s"), "/s/daemon-socket/socket");
  EXPECT_EQ(nixDaemonSocket("auto", "/s"), "/s/daemon-socket/socket");
  EXPECT_EQ(nixDaemonSocket("unix:///x/y", "/s"), "/x/y");
  EXPECT_TRUE(nixDaemonSocket("ssh://host", "/s").empty());
}

}  // namespace
}  // namespace nixsnap::server
