#include "mount/scoped_mount.h"

#include <gmock/gmock.h>

#include "mocks/mount_mocks.h"
#include "mount/linux_mounter.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using ::testing::_;
using ::testing::InSequence;
using ::testing::Return;
using ::testing::StrictMock;

TEST(ScopedMountTest, MountsThenUnmountsAndRemovesDirectory) {
  TempDir dir = makeTempDir();
  fs::path target = dir.path() / "mnt";
  StrictMock<MockMounter> mounter;
  mount::Mount m{"bind", "/src", "", {"ro", "rbind"}};
  InSequence seq;
  EXPECT_CALL(mounter, mount(m, target)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(mounter, unmount(target)).WillOnce(Return(Status::ok()));
  {
    auto sm = mount::ScopedMount::create(mounter, m, target);
    ASSERT_TRUE(sm.isOk());
    EXPECT_TRUE(fs::is_directory(target));
  }
  EXPECT_FALSE(fs::exists(target));
}

TEST(ScopedMountTest, FailedUnmountLeavesDirectoryAndItsContents) {
  TempDir dir = makeTempDir();
  fs::path target = dir.path() / "mnt";
  StrictMock<MockMounter> mounter;
  EXPECT_CALL(mounter, mount(_, target)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(mounter, unmount(target))
      .WillOnce(Return(Status(ErrorCode::FailedPrecondition, "busy")));
  {
    auto sm = mount::ScopedMount::create(mounter, mount::Mount{"bind", "/src", "", {}}, target);
    ASSERT_TRUE(sm.isOk());
    writeFile(target / "precious", "still mounted");  // stands in for the mounted fs
  }
  // Never a recursive delete through a mount that may still be there.
  EXPECT_EQ(readFile(target / "precious"), "still mounted");
}

TEST(ScopedMountTest, NonEmptyDirectoryIsNotRemovedRecursively) {
  TempDir dir = makeTempDir();
  fs::path target = dir.path() / "mnt";
  StrictMock<MockMounter> mounter;
  EXPECT_CALL(mounter, mount(_, target)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(mounter, unmount(target)).WillOnce(Return(Status::ok()));
  auto sm = mount::ScopedMount::create(mounter, mount::Mount{"bind", "/src", "", {}}, target);
  ASSERT_TRUE(sm.isOk());
  writeFile(target / "left", "x");
  EXPECT_FALSE(sm->release().isOk());
  EXPECT_TRUE(fs::exists(target / "left"));
}

TEST(ScopedMountTest, FailedMountRemovesDirectory) {
  TempDir dir = makeTempDir();
  fs::path target = dir.path() / "mnt";
  StrictMock<MockMounter> mounter;
  EXPECT_CALL(mounter, mount(_, target))
      .WillOnce(Return(Status(ErrorCode::PermissionDenied, "mounting: EPERM")));
  auto sm = mount::ScopedMount::create(mounter, mount::Mount{"bind", "/src", "", {}}, target);
  EXPECT_EQ(sm.status().code(), ErrorCode::PermissionDenied);
  EXPECT_FALSE(fs::exists(target));
}

TEST(LinuxMounterTest, RoBindIsReadOnly) {
  NIXSNAP_REQUIRE_ROOT();
  TempDir dir = makeTempDir();
  writeFile(dir.path() / "src" / "f", "hello");
  auto mounter = mount::makeLinuxMounter();
  {
    auto sm = mount::ScopedMount::create(
        *mounter, mount::Mount{"bind", (dir.path() / "src").string(), "", {"ro", "rbind"}},
        dir.path() / "mnt");
    ASSERT_TRUE(sm.isOk()) << sm.status().toString();
    EXPECT_EQ(readFile(dir.path() / "mnt" / "f"), "hello");
    FILE* f = std::fopen((dir.path() / "mnt" / "g").c_str(), "w");
    EXPECT_EQ(f, nullptr);
    if (f != nullptr) {
      std::fclose(f);
    }
  }
  EXPECT_FALSE(fs::exists(dir.path() / "mnt"));
}

TEST(LinuxMounterTest, OverlayProbeMatchesProcFilesystems) {
  auto mounter = mount::makeLinuxMounter();
  std::string fss = readFile("/proc/filesystems");
  EXPECT_EQ(mounter->supportsOverlay(), fss.find("\toverlay\n") != std::string::npos);
}

}  // namespace
}  // namespace nixsnap::testing
