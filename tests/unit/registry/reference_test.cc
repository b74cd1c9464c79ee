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

}  // namespace
}  // namespace nixsnap::registry
