#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace nixsnap {
namespace {

TEST(StatusTest, WrapKeepsClassAndPrefixesContext) {
  Status st = notFound("snapshot \"a\"");
  Status w = st.wrap("committing \"b\"");
  EXPECT_EQ(w.code(), ErrorCode::NotFound);
  EXPECT_EQ(w.message(), "committing \"b\": snapshot \"a\"");
}

TEST(StatusTest, WrapOfOkStaysOk) { EXPECT_TRUE(Status::ok().wrap("x").isOk()); }

TEST(StatusTest, ErrnoMapsToContainerdClasses) {
  EXPECT_EQ(errorCodeFromErrno(ENOENT), ErrorCode::NotFound);
  EXPECT_EQ(errorCodeFromErrno(EEXIST), ErrorCode::AlreadyExists);
  EXPECT_EQ(errorCodeFromErrno(EACCES), ErrorCode::PermissionDenied);
  EXPECT_EQ(errorCodeFromErrno(EIO), ErrorCode::Internal);
  EXPECT_EQ(errnoStatus(ENOENT, "opening \"/x\"").message(),
            "opening \"/x\": No such file or directory");
}

TEST(StatusTest, ResultHoldsValueOrError) {
  Result<int> ok(3);
  ASSERT_TRUE(ok.isOk());
  EXPECT_EQ(*ok, 3);
  Result<int> bad(invalidArgument("bad"));
  EXPECT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace nixsnap
