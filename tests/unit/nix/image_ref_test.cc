#include "nix/image_ref.h"

#include <gtest/gtest.h>

#include <string>

namespace nixsnap::nix {
namespace {

const std::string kPath = "/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-nix-image-redis.tar";

TEST(NixImageRefTest, AcceptsStorePathWithoutTag) {
  auto ref = parseNixImageRef("nix:0" + kPath);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  EXPECT_EQ(ref->store_path, kPath);
  EXPECT_EQ(ref->untagged, "nix:0" + kPath);
  EXPECT_EQ(ref->tagged, "nix:0" + kPath + ":latest");
}

TEST(NixImageRefTest, StripsTrailingLatest) {
  auto ref = parseNixImageRef("nix:0" + kPath + ":latest");
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  EXPECT_EQ(ref->store_path, kPath);
  EXPECT_EQ(ref->tagged, "nix:0" + kPath + ":latest");
}

TEST(NixImageRefTest, RecognisesOnlyTheNixPrefix) {
  EXPECT_TRUE(isNixImageRef("nix:0/nix/store/x"));
  EXPECT_FALSE(isNixImageRef("nix:0.1"));
  EXPECT_FALSE(isNixImageRef("nix"));
  EXPECT_FALSE(isNixImageRef("docker.io/library/nix:0"));
  EXPECT_FALSE(isNixImageRef("localhost:5000/nix:0/nix"));
  EXPECT_FALSE(isNixImageRef(""));
}

// Anything that looks like it was meant as a nix:0 reference is claimed (and then refused by
// parseNixImageRef) instead of being forwarded to containerd as a registry reference.
TEST(NixImageRefTest, ClaimsMalformedNixReferences) {
  for (const char* ref : {"nix:0", "nix:0x", "NIX:0/etc/passwd", "nix:0../etc", "Nix:0.1", "nix:0/",
                          "nix:0.1/x", "nix:0.."}) {
    EXPECT_TRUE(isNixImageRef(ref)) << ref;
    auto parsed = parseNixImageRef(ref);
    ASSERT_FALSE(parsed.isOk()) << ref;
    EXPECT_EQ(parsed.status().code(), ErrorCode::InvalidArgument) << ref;
    EXPECT_NE(parsed.status().message().find(ref), std::string::npos) << parsed.status().message();
  }
  EXPECT_FALSE(isNixImageRef("nix:0.1.2"));
  EXPECT_FALSE(isNixImageRef("nix:1"));
  EXPECT_FALSE(isNixImageRef("nixos:0"));
}

TEST(NixImageRefTest, HonoursAnotherStoreDir) {
  auto ref =
      parseNixImageRef("nix:0/opt/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar", "/opt/store/");
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  EXPECT_EQ(ref->store_path, "/opt/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar");
  EXPECT_FALSE(parseNixImageRef("nix:0" + kPath, "/opt/store").isOk());
}

class NixImageRefHostileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NixImageRefHostileTest, IsInvalidArgumentNamingTheReference) {
  auto ref = parseNixImageRef(GetParam());
  ASSERT_FALSE(ref.isOk()) << GetParam();
  EXPECT_EQ(ref.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(ref.status().message().find(GetParam()), std::string::npos) << ref.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, NixImageRefHostileTest,
    ::testing::Values(
        "", "nix:0", "nix:0/", "nix:0/nix/store", "nix:0/nix/store/",
        "nix:1/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar", "nix:0/etc/passwd",
        "nix:0/nix/store/../../etc/passwd",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar/etc/passwd",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar/..",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar:v1",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar:latest:latest",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar@sha256:"
        "0000000000000000000000000000000000000000000000000000000000000000",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-",        // empty name
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pc-a.tar",    // 31-char hash
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcre-a.tar",  // 33-char hash
        "nix:0/nix/store/ec8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar",   // 'e' is not base32
        "nix:0/nix/store/0C8YRJX3FNDM2D9W4Y2SQQ3B1RBN4PCR-a.tar",   // upper case hash
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-.hidden",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a b.tar",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-Redis.tar",  // no image ref
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a+b.tar",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar.",
        "nix:0//nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar",
        "nix:0/nix//store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a.tar",
        std::string("nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a\0b", 52),
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-" + std::string(250, 'a')));

}  // namespace
}  // namespace nixsnap::nix
