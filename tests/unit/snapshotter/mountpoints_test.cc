// Mountpoints that match what is bound on them (ensureMountpoints), over real directories.
#include "snapshotter/mountpoints.h"

#include <gmock/gmock.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using ::testing::HasSubstr;

class MountpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(store_ / dir_name_);
    writeFile(store_ / file_name_, "x");
    fs::create_directory_symlink(store_ / dir_name_, store_ / link_name_);
    for (const fs::path& l : {upper_, lower1_, lower2_}) {
      fs::create_directories(l);
    }
  }
  /// `layer/<store dir>/<name>`.
  fs::path in(const fs::path& layer, const std::string& name) const {
    return layer / store_.relative_path() / name;
  }
  std::vector<fs::path> targets() const {
    return {store_ / dir_name_, store_ / file_name_, store_ / link_name_};
  }
  Status ensure(const fs::path& upper) {
    return snapshotter::ensureMountpoints(store_, upper, {lower1_, lower2_}, targets());
  }
  static bool isDir(const fs::path& p) { return fs::is_directory(fs::symlink_status(p)); }
  static bool isFile(const fs::path& p) { return fs::is_regular_file(fs::symlink_status(p)); }

  TempDir tmp_ = makeTempDir();
  fs::path store_ = tmp_.path() / "store";
  std::string dir_name_ = std::string(32, 'a') + "-dir";
  std::string file_name_ = std::string(32, 'b') + "-file";
  std::string link_name_ = std::string(32, 'c') + "-link-to-dir";  // a store path symlink
  fs::path upper_ = tmp_.path() / "upper";
  fs::path lower1_ = tmp_.path() / "lower1";  // nearest
  fs::path lower2_ = tmp_.path() / "lower2";
};

TEST_F(MountpointsTest, MissingMountpointsAreCreatedInUpperWithTheTypeOfTheStorePath) {
  ASSERT_TRUE(ensure(upper_).isOk());
  EXPECT_TRUE(isDir(in(upper_, dir_name_)));
  EXPECT_TRUE(isFile(in(upper_, file_name_)));
  EXPECT_TRUE(fs::is_empty(in(upper_, file_name_)));
  EXPECT_TRUE(isDir(in(upper_, link_name_)));  // followed: a symlink to a directory
  EXPECT_TRUE(fs::is_empty(lower1_));          // layers below are never written
  EXPECT_TRUE(fs::is_empty(lower2_));
}

TEST_F(MountpointsTest, MatchingMountpointsBelowCreateNothing) {
  fs::create_directories(in(lower2_, dir_name_));
  fs::create_directories(in(lower1_, link_name_));
  writeFile(in(lower2_, file_name_), "");
  ASSERT_TRUE(ensure(upper_).isOk());
  EXPECT_TRUE(fs::is_empty(upper_));
}

TEST_F(MountpointsTest, WrongTypesAndSymlinksBelowAreShadowedWithTheRightType) {
  writeFile(in(lower1_, dir_name_), "");            // file where a directory belongs
  fs::create_directories(in(lower1_, file_name_));  // directory where a file belongs
  writeFile(in(lower2_, link_name_), "");           // the old builder's lstat mistake
  fs::create_directories(in(lower2_, dir_name_));   // hidden by lower1's file anyway
  ASSERT_TRUE(ensure(upper_).isOk());
  EXPECT_TRUE(isDir(in(upper_, dir_name_)));
  EXPECT_TRUE(isFile(in(upper_, file_name_)));
  EXPECT_TRUE(isDir(in(upper_, link_name_)));
  // A mountpoint that is a symlink would redirect the mount: shadowed too.
  fs::remove_all(upper_);
  fs::create_directories(upper_);
  fs::remove(in(lower1_, dir_name_));
  fs::create_directory_symlink("/etc", in(lower1_, dir_name_));
  ASSERT_TRUE(ensure(upper_).isOk());
  EXPECT_TRUE(isDir(in(upper_, dir_name_)));
}

TEST_F(MountpointsTest, StoreDirBehindASymlinkOrFileInALayerIsRecreated) {
  fs::path first = *store_.relative_path().begin();  // e.g. "tmp"
  fs::create_directories(lower2_ / store_.relative_path() / dir_name_);
  fs::create_directory_symlink("/", lower1_ / first);  // hides lower2's tree
  ASSERT_TRUE(ensure(upper_).isOk());
  EXPECT_TRUE(isDir(in(upper_, dir_name_)));
  EXPECT_TRUE(isFile(in(upper_, file_name_)));
}

TEST_F(MountpointsTest, NewStoreDirCopiesModeAndOwnerOfTheLayerBelow) {
  fs::path lower_store = lower1_ / store_.relative_path();
  fs::create_directories(lower_store);
  ASSERT_EQ(::chmod(lower_store.c_str(), 01775), 0);
  ASSERT_TRUE(ensure(upper_).isOk());
  struct stat st {};
  ASSERT_EQ(::lstat((upper_ / store_.relative_path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01775u);
  ASSERT_EQ(::lstat(in(upper_, file_name_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
}

TEST_F(MountpointsTest, WhiteoutsAndOpaqueDirectoriesHideMountpointsBelow) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root (whiteout devices, trusted.* xattrs)";
  }
  for (const std::string& n : {dir_name_, link_name_}) {
    fs::create_directories(in(lower2_, n));
  }
  writeFile(in(lower2_, file_name_), "");
  fs::create_directories(lower1_ / store_.relative_path());
  // lower1 deletes the file (whiteout) and nothing else.
  ASSERT_EQ(::mknod(in(lower1_, file_name_).c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_TRUE(ensure(upper_).isOk());
  EXPECT_TRUE(isFile(in(upper_, file_name_)));
  EXPECT_FALSE(fs::exists(fs::symlink_status(in(upper_, dir_name_))));
  // An opaque store dir in lower1 hides all of lower2's.
  fs::remove_all(upper_);
  fs::create_directories(upper_);
  fs::path lower_store = lower1_ / store_.relative_path();
  ASSERT_EQ(::setxattr(lower_store.c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_TRUE(ensure(upper_).isOk());
  EXPECT_TRUE(isDir(in(upper_, dir_name_)));
  EXPECT_TRUE(isDir(in(upper_, link_name_)));
}

TEST_F(MountpointsTest, WithoutAWritableLayerAMismatchIsRefusedNamingThePath) {
  fs::create_directories(in(lower1_, dir_name_));
  fs::create_directories(in(lower1_, link_name_));
  Status st = ensure({});
  EXPECT_EQ(st.code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr((store_ / file_name_).string()));
  EXPECT_THAT(st.message(), HasSubstr("missing"));
  writeFile(in(lower1_, file_name_), "");
  EXPECT_TRUE(ensure({}).isOk());
  EXPECT_TRUE(fs::is_empty(upper_));
}

}  // namespace
}  // namespace nixsnap::testing
