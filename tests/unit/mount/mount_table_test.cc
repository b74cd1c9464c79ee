// mountPointsUnder: which mounts a recursive delete of a directory would walk into.
#include "mount/mount_table.h"

#include <gmock/gmock.h>

#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using ::testing::ElementsAre;

std::string line(int id, const std::string& point) {
  return std::to_string(id) + " 1 0:1 / " + point + " rw,relatime shared:1 - ext4 /dev/vda rw\n";
}

TEST(MountTableTest, ListsMountsAtOrUnderTheDirectoryOnly) {
  TempDir dir = makeTempDir();
  fs::path info = dir.path() / "mountinfo";
  writeFile(info, line(1, "/") + line(2, "/var/lib/nix") + line(3, "/var/lib/nix/snapshots/1") +
                      line(4, "/var/lib/nix/snapshots/1/fs/proc") +
                      line(5, "/var/lib/nix/snapshots/10") + line(6, "/var/lib/nixx"));
  auto m = mount::mountPointsUnder("/var/lib/nix/snapshots/1", info);
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_THAT(*m, ElementsAre(fs::path("/var/lib/nix/snapshots/1"),
                              fs::path("/var/lib/nix/snapshots/1/fs/proc")));
  m = mount::mountPointsUnder("/var/lib/nix/", info);
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(m->size(), 4u);  // not /var/lib/nixx
}

TEST(MountTableTest, DecodesTheKernelsEscapes) {
  TempDir dir = makeTempDir();
  fs::path info = dir.path() / "mountinfo";
  writeFile(info, line(1, "/") + line(2, "/r/a\\040b/c\\134d\\011e"));
  auto m = mount::mountPointsUnder("/r/a b", info);
  ASSERT_TRUE(m.isOk());
  EXPECT_THAT(*m, ElementsAre(fs::path("/r/a b/c\\d\te")));
}

TEST(MountTableTest, ResolvesSymlinksInTheDirectory) {
  TempDir dir = makeTempDir();
  fs::create_directories(dir.path() / "real" / "x");
  fs::create_symlink(dir.path() / "real", dir.path() / "link");
  fs::path info = dir.path() / "mountinfo";
  std::string real = fs::canonical(dir.path() / "real").string();
  writeFile(info, line(1, "/") + line(2, real + "/x"));
  auto m = mount::mountPointsUnder(dir.path() / "link", info);
  ASSERT_TRUE(m.isOk());
  EXPECT_THAT(*m, ElementsAre(fs::path(real + "/x")));
}

TEST(MountTableTest, ErrorsAreReported) {
  TempDir dir = makeTempDir();
  EXPECT_EQ(mount::mountPointsUnder("/", dir.path() / "absent").status().code(),
            ErrorCode::NotFound);
  writeFile(dir.path() / "short", "1 2 3\n");
  EXPECT_EQ(mount::mountPointsUnder("/", dir.path() / "short").status().code(),
            ErrorCode::Internal);
}

TEST(MountTableTest, ReadsTheRealTable) {
  auto m = mount::mountPointsUnder("/");
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_THAT(*m, ::testing::Contains(fs::path("/")));
}

}  // namespace
}  // namespace nixsnap::testing
