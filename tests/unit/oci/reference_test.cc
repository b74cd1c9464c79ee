#include "oci/reference.h"

#include <gtest/gtest.h>

#include <string>

namespace nixsnap::oci {
namespace {

TEST(ReferenceTest, AcceptsOrdinaryAndNixReferences) {
  for (const char* ref :
       {"redis", "redis:7", "library/redis:latest", "docker.io/library/redis:7.2",
        "localhost:5000/a/b_c__d-e.f:V1_x", "Registry.Example:443/x",
        "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-nix-image-redis.tar:latest",
        "r@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}) {
    Status st = validateImageReference(ref, "--ref");
    EXPECT_TRUE(st.isOk()) << ref << ": " << st.message();
  }
}

TEST(ReferenceTest, RefusesBadReferencesNamingThem) {
  for (const char* ref :
       {"bad ref!!", "", "upper/Case", "Upper", "a//b", "a:", ":tag", "a:-x", "-a", "a-", "a..b",
        "a@sha256:12", "nix:0/tmp/My Image:latest", "host:port/x", "a:b/c:d/e", "../etc/passwd"}) {
    Status st = validateImageReference(ref, "--ref");
    ASSERT_FALSE(st.isOk()) << ref;
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(st.message().find(std::string("\"") + ref + "\""), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("--ref"), std::string::npos);
  }
  EXPECT_FALSE(
      validateImageReference(std::string(129, 'a') + ":" + std::string(129, 't'), "--ref").isOk());
  EXPECT_FALSE(validateImageReference(std::string(256, 'a'), "--ref").isOk());
}

}  // namespace
}  // namespace nixsnap::oci
