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

TEST(ReferenceTest, RejectsReferencesWithoutHostOrWithDigest) {
  EXPECT_EQ(parseReference("app:1").status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(parseReference("team/app:1").status().code(), ErrorCode::InvalidArgument);
  EXPECT_FALSE(parseReference("localhost/app@sha256:abc").isOk());
  EXPECT_FALSE(parseReference("localhost/:1").isOk());
}

TEST(ReferenceTest, RejectsWhatIsNotAnImageReference) {
  // ".." would let curl normalise the PUT out of /v2/; credentials do not belong here.
  for (const char* bad : {"127.0.0.1:5000/../../x:1", "localhost/a/../b:1",
                          "user:pw@localhost/x:1", "localhost/Upper:1", "localhost/x:bad tag"}) {
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
