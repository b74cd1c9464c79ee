#include "oci/digest.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace nixsnap::oci {
namespace {

TEST(DigestTest, DigestOfEmptyStringIsKnownValue) {
  EXPECT_EQ(digestOf(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(DigestTest, DigestFileMatchesDigestOf) {
  auto dir = testing::makeTempDir();
  testing::writeFile(dir.path() / "f", "hello");
  auto d = digestFile(dir.path() / "f");
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(d->digest, digestOf("hello"));
  EXPECT_EQ(d->size, 5);
}

TEST(DigestTest, DigestFileMissingIsNotFound) {
  auto dir = testing::makeTempDir();
  EXPECT_EQ(digestFile(dir.path() / "nope").status().code(), ErrorCode::NotFound);
}

TEST(DigestTest, ValidateAcceptsOnlyStrictSha256) {
  EXPECT_TRUE(validateDigest(digestOf("x")).isOk());
  EXPECT_FALSE(validateDigest("sha256:abc").isOk());
  EXPECT_FALSE(validateDigest("sha512:" + std::string(64, 'a')).isOk());
  EXPECT_FALSE(validateDigest("sha256:" + std::string(64, 'A')).isOk());
  EXPECT_FALSE(validateDigest("sha256:" + std::string(63, 'a') + "/").isOk());
  EXPECT_EQ(validateDigest("").code(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace nixsnap::oci
