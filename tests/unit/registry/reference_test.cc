#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/client.h"

namespace nixsnap::registry {
namespace {

TEST(ReferenceTest, ParsesHostRepositoryAndTag) {
  auto r = parseReference("localhost:5000/team/app:1.2");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->host, "localhost:5000");
  EXPECT_EQ(r->repository, "team/app");
  EXPECT_EQ(r->tag, "1.2");
}

TEST(ReferenceTest, TagDefaultsToLatest) {
  auto r = parseReference("registry.example.org/app");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->tag, "latest");
  EXPECT_EQ(r->repository, "app");
}

TEST(ReferenceTest, RejectsDigestsAndEmptyParts) {
  EXPECT_FALSE(parseReference("localhost/app@sha256:abc").isOk());
  EXPECT_FALSE(parseReference("localhost/:1").isOk());
  EXPECT_FALSE(parseReference("").isOk());
  // A bare image id is not a name docker would push to.
  auto id = parseReference(std::string(64, 'a'));
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(id.status().message(), ::testing::HasSubstr("image id"));
}

struct Normalised {
  const char* ref;
  const char* host;
  const char* repository;
  const char* tag;
  const char* endpoint;
};

// docker's normalisation (containerd reference/docker splitDockerDomain): a first
// component with '.' or ':' or "localhost" is a host; else the name is Docker Hub's.
TEST(ReferenceTest, NormalisesAsDockerDoes) {
  const Normalised cases[] = {
      {"redis", "docker.io", "library/redis", "latest", "registry-1.docker.io"},
      {"redis:7", "docker.io", "library/redis", "7", "registry-1.docker.io"},
      {"user/app", "docker.io", "user/app", "latest", "registry-1.docker.io"},
      {"user/app:1.0", "docker.io", "user/app", "1.0", "registry-1.docker.io"},
      {"team/sub/app:2", "docker.io", "team/sub/app", "2", "registry-1.docker.io"},
      {"docker.io/redis", "docker.io", "library/redis", "latest", "registry-1.docker.io"},
      {"docker.io/user/app:3", "docker.io", "user/app", "3", "registry-1.docker.io"},
      {"index.docker.io/redis:7", "docker.io", "library/redis", "7", "registry-1.docker.io"},
      {"index.docker.io/user/app", "docker.io", "user/app", "latest", "registry-1.docker.io"},
      {"registry-1.docker.io/user/app", "registry-1.docker.io", "user/app", "latest",
       "registry-1.docker.io"},
      {"localhost/app", "localhost", "app", "latest", "localhost"},
      {"localhost:5000/app:1", "localhost:5000", "app", "1", "localhost:5000"},
      {"127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", "latest", "127.0.0.1:5000"},
      {"ghcr.io/pdtpartners/redis", "ghcr.io", "pdtpartners/redis", "latest", "ghcr.io"},
      {"registry:5000/app", "registry:5000", "app", "latest", "registry:5000"},
      {"Registry/app", "Registry", "app", "latest", "Registry"},
  };
  for (const auto& c : cases) {
    auto r = parseReference(c.ref);
    ASSERT_TRUE(r.isOk()) << c.ref << ": " << r.status().toString();
    EXPECT_EQ(r->host, c.host) << c.ref;
    EXPECT_EQ(r->repository, c.repository) << c.ref;
    EXPECT_EQ(r->tag, c.tag) << c.ref;
    EXPECT_EQ(r->endpoint, c.endpoint) << c.ref;
  }
}

TEST(ReferenceTest, OnlyDockerHubHasAnotherEndpoint) {
  EXPECT_EQ(registryEndpoint("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(registryEndpoint("registry-1.docker.io"), "registry-1.docker.io");
  EXPECT_EQ(registryEndpoint("quay.io"), "quay.io");
  EXPECT_EQ(registryEndpoint("localhost:5000"), "localhost:5000");
}

// containerd's docker.MatchLocalhost, which the original uses to choose plain HTTP.
TEST(ReferenceTest, LocalRegistriesAreLocalhostAndLoopbackAddresses) {
  for (const char* local :
       {"localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000", "127.1.2.3:80", "::1",
        "[::1]", "[::1]:5000", "[::ffff:127.0.0.1]:5000"}) {
    EXPECT_TRUE(isLocalRegistry(local)) << local;
  }
  for (const char* remote :
       {"docker.io", "registry-1.docker.io", "localhost.example.org", "mylocalhost:5000",
        "LOCALHOST", "128.0.0.1:5000", "10.0.0.1", "0.0.0.0:5000", "[::2]:5000",
        "[::1]:", "localhost:", "::1:5000", "127.0.0.01", "127.1", "", "[::1"}) {
    EXPECT_FALSE(isLocalRegistry(remote)) << remote;
  }
}

TEST(ReferenceTest, RejectsWhatIsNotAnImageReference) {
  // ".." would let curl normalise the PUT out of /v2/; credentials do not belong here.
  for (const char* bad : {"127.0.0.1:5000/../../x:1", "localhost/a/../b:1", "user:pw@localhost/x:1",
                          "localhost/Upper:1", "localhost/x:bad tag"}) {
    auto r = parseReference(bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
}

TEST(UploadLocationTest, PathsAndHttpUrlsAreFollowed) {
  EXPECT_EQ(*resolveUploadLocation("http://", "h:5000", "/v2/x/blobs/uploads/u1?s=1"),
            "http://h:5000/v2/x/blobs/uploads/u1?s=1");
  EXPECT_EQ(*resolveUploadLocation("https://", "h", "https://store.example/u?sig=1"),
            "https://store.example/u?sig=1");
  EXPECT_EQ(*resolveUploadLocation("http://", "h", "http://h/v2/u"), "http://h/v2/u");
}

TEST(UploadLocationTest, OtherSchemesAndDowngradesAreRefused) {
  for (const char* bad : {"file:///tmp/pwned", "ftp://h/u", "FILE:///etc/passwd", "//evil/u",
                          "v2/relative", "gopher://h/"}) {
    auto r = resolveUploadLocation("http://", "h", bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
  auto down = resolveUploadLocation("https://", "h", "http://h/v2/u");
  ASSERT_FALSE(down.isOk());
  EXPECT_NE(down.status().message().find("downgrade"), std::string::npos);
  EXPECT_FALSE(resolveUploadLocation("http://", "h", std::string("/v2/u\r\nX: y")).isOk());
  EXPECT_FALSE(resolveUploadLocation("http://", "h", "/v2/u\x1b]0;title\x07").isOk());
  EXPECT_FALSE(resolveUploadLocation("http://", "h", "/v2/u x").isOk());
  // User information would become curl's own Basic credentials for that host.
  auto userinfo = resolveUploadLocation("http://", "h", "http://h:5000@other:1/x");
  EXPECT_EQ(userinfo.status().code(), ErrorCode::Internal);
  EXPECT_THAT(userinfo.status().message(), ::testing::HasSubstr("user information"));
  // An '@' after the authority is only part of the path.
  EXPECT_TRUE(resolveUploadLocation("http://", "h", "http://h/v2/u?by=a@b").isOk());
}

}  // namespace
}  // namespace nixsnap::registry
