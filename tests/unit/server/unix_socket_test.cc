#include "server/unix_socket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/random.h"
#include "common/unique_fd.h"
#include "mocks/common_mocks.h"
#include "support/test_env.h"

namespace nixsnap::server {
namespace {

using ::testing::HasSubstr;

/// A short temp dir: unix socket paths must stay under 108 bytes.
TempDir shortTempDir() {
  auto dir = TempDir::create("/tmp", "nixsnap-");
  EXPECT_TRUE(dir.isOk());
  return std::move(dir).value();
}

/// Binds a unix socket at `path`; listens when `listen_too`. The fd keeps it alive.
UniqueFd bindSocket(const fs::path& path, bool listen_too) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  if (listen_too) {
    EXPECT_EQ(::listen(fd.get(), 4), 0);
  }
  return fd;
}

TEST(UnixSocketTest, CreatesMissingDirectoriesWithMode0700) {
  auto dir = shortTempDir();
  const fs::path sock = dir.path() / "a" / "b" / "ns.sock";
  ASSERT_TRUE(prepareSocketPath(sock).isOk());
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "a" / "b").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir.path() / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_FALSE(fs::exists(sock));
}

TEST(UnixSocketTest, ExistingDirectoryIsKept) {
  auto dir = shortTempDir();
  ::chmod(dir.path().c_str(), 0755);
  ASSERT_TRUE(prepareSocketPath(dir.path() / "ns.sock").isOk());
  struct stat st {};
  ASSERT_EQ(::stat(dir.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(UnixSocketTest, StaleSocketIsRemoved) {
  auto dir = shortTempDir();
  const fs::path sock = dir.path() / "ns.sock";
  { UniqueFd fd = bindSocket(sock, /*listen_too=*/false); }  // closed: nobody accepts
  ASSERT_TRUE(fs::exists(fs::symlink_status(sock)));
  EXPECT_FALSE(socketIsServed(sock));
  ASSERT_TRUE(prepareSocketPath(sock).isOk());
  EXPECT_FALSE(fs::exists(fs::symlink_status(sock)));
}

TEST(UnixSocketTest, SocketServedByAnotherProcessIsRefused) {
  auto dir = shortTempDir();
  const fs::path sock = dir.path() / "ns.sock";
  UniqueFd live = bindSocket(sock, /*listen_too=*/true);
  EXPECT_TRUE(socketIsServed(sock));
  Status st = prepareSocketPath(sock);
  EXPECT_EQ(st.code(), ErrorCode::AlreadyExists);
  EXPECT_THAT(st.message(), HasSubstr(sock.string()));
  EXPECT_TRUE(fs::exists(fs::symlink_status(sock)));
}

TEST(UnixSocketTest, RegularFileAtTheAddressIsNeverDeleted) {
  auto dir = shortTempDir();
  const fs::path sock = dir.path() / "ns.sock";
  testing::writeFile(sock, "precious");
  Status st = prepareSocketPath(sock);
  EXPECT_EQ(st.code(), ErrorCode::FailedPrecondition);
  EXPECT_EQ(testing::readFile(sock), "precious");
}

TEST(UnixSocketTest, RelativeOrTooLongPathIsInvalid) {
  EXPECT_EQ(prepareSocketPath("rel/ns.sock").code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(prepareSocketPath("/tmp/" + std::string(120, 'x')).code(), ErrorCode::InvalidArgument);
}

TEST(UnixSocketTest, ParentThatIsAFileFails) {
  auto dir = shortTempDir();
  testing::writeFile(dir.path() / "f", "");
  Status st = prepareSocketPath(dir.path() / "f" / "ns.sock");
  EXPECT_FALSE(st.isOk());
}

TEST(UnixSocketTest, StagingNameIsHiddenInTheSameDirectoryFromTheRandomSource) {
  const fs::path sock = "/run/nix-snapshotter/nix-snapshotter.sock";
  testing::CountingRandom random;  // 1, 2, ...: randomHex writes the low nibble first
  const std::string pid = std::to_string(::getpid());
  EXPECT_EQ(stagingSocketPath(sock, random),
            sock.parent_path() / ("." + pid + "-10000000.sock.new"));
  EXPECT_EQ(stagingSocketPath(sock, random),
            sock.parent_path() / ("." + pid + "-20000000.sock.new"));
}

TEST(UnixSocketTest, StagingNameOfTheSystemRandomSourceIsUnpredictable) {
  const fs::path sock = "/run/nix-snapshotter/nix-snapshotter.sock";
  RandomPtr random = makeSystemRandom();
  const fs::path staging = stagingSocketPath(sock, *random);
  EXPECT_EQ(staging.parent_path(), sock.parent_path());
  EXPECT_THAT(
      staging.filename().string(),
      ::testing::MatchesRegex("\\." + std::to_string(::getpid()) + "-[0-9a-f]{8}\\.sock\\.new"));
  EXPECT_NE(stagingSocketPath(sock, *random), staging);  // 1 in 2^32 to collide
}

TEST(UnixSocketTest, StagingFallsBackToTheAddressWhenTheNameWouldNotFit) {
  testing::CountingRandom random;
  // 98 bytes fit in sun_path (108 with the NUL); "/.<pid>-<hex>.sock.new" beside it does not.
  const fs::path sock = "/" + std::string(95, 'x') + "/s";
  EXPECT_EQ(stagingSocketPath(sock, random), sock);
}

TEST(UnixSocketTest, PublishLinksTheListeningSocketAtTheAddress) {
  testing::CountingRandom random;
  auto dir = shortTempDir();
  const fs::path sock = dir.path() / "ns.sock";
  const fs::path staging = stagingSocketPath(sock, random);
  UniqueFd live = bindSocket(staging, /*listen_too=*/true);
  auto published = publishSocket(staging, sock);
  ASSERT_TRUE(published.isOk()) << published.status().toString();
  EXPECT_TRUE(socketIsServed(sock));
  EXPECT_FALSE(fs::exists(fs::symlink_status(staging)));
  removeSocket(sock, *published);
  EXPECT_FALSE(fs::exists(fs::symlink_status(sock)));
}

TEST(UnixSocketTest, PublishNeverReplacesASocketSomeoneElseCreated) {
  testing::CountingRandom random;
  auto dir = shortTempDir();
  const fs::path sock = dir.path() / "ns.sock";
  UniqueFd winner = bindSocket(sock, /*listen_too=*/true);
  const fs::path staging = stagingSocketPath(sock, random);
  UniqueFd loser = bindSocket(staging, /*listen_too=*/true);
  auto published = publishSocket(staging, sock);
  EXPECT_EQ(published.status().code(), ErrorCode::AlreadyExists);
  EXPECT_THAT(published.status().message(), HasSubstr(sock.string()));
  EXPECT_FALSE(fs::exists(fs::symlink_status(staging)));
  EXPECT_TRUE(socketIsServed(sock));  // still the winner's
}

TEST(UnixSocketTest, RemoveSocketLeavesASocketThatIsNoLongerOurs) {
  testing::CountingRandom random;
  auto dir = shortTempDir();
  const fs::path sock = dir.path() / "ns.sock";
  const fs::path staging = stagingSocketPath(sock, random);
  UniqueFd fd = bindSocket(staging, /*listen_too=*/true);  // open, as a serving daemon's
  auto ours = publishSocket(staging, sock);
  ASSERT_TRUE(ours.isOk());
  ASSERT_EQ(::unlink(sock.c_str()), 0);
  UniqueFd theirs = bindSocket(sock, /*listen_too=*/true);  // someone else's now
  removeSocket(sock, *ours);
  EXPECT_TRUE(socketIsServed(sock));
}

TEST(UnixSocketTest, FailedPublishRemovesTheStagingSocket) {
  testing::CountingRandom random;
  auto dir = shortTempDir();
  const fs::path staging = stagingSocketPath(dir.path() / "ns.sock", random);
  UniqueFd live = bindSocket(staging, /*listen_too=*/true);
  auto st = publishSocket(staging, dir.path() / "missing" / "ns.sock");
  EXPECT_EQ(st.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(st.status().message(), HasSubstr(staging.string()));
  EXPECT_FALSE(fs::exists(fs::symlink_status(staging)));
}

TEST(UnixSocketTest, StaleStagingSocketsAreRemovedOthersKept) {
  auto dir = shortTempDir();
  const std::string dead_name = ".12345-0000abcd.sock.new";
  const std::string live_name = ".23456-0000abcd.sock.new";
  const std::string file_name = ".34567-0000abcd.sock.new";
  const std::string other_name = ".x-0000abcd.sock.new";
  { UniqueFd dead = bindSocket(dir.path() / dead_name, /*listen_too=*/false); }
  UniqueFd live = bindSocket(dir.path() / live_name, /*listen_too=*/true);
  testing::writeFile(dir.path() / file_name, "a file, not a socket");
  { UniqueFd other = bindSocket(dir.path() / other_name, /*listen_too=*/false); }
  ASSERT_TRUE(prepareSocketPath(dir.path() / "ns.sock").isOk());
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir.path() / dead_name)));
  EXPECT_TRUE(fs::exists(fs::symlink_status(dir.path() / live_name)));
  EXPECT_TRUE(fs::exists(dir.path() / file_name));
  EXPECT_TRUE(fs::exists(fs::symlink_status(dir.path() / other_name)));
}

}  // namespace
}  // namespace nixsnap::server
