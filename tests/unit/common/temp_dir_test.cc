#include "common/temp_dir.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace nixsnap {
namespace {

TEST(TempDirTest, RemovedOnDestructionUnlessKept) {
  auto parent = testing::makeTempDir();
  fs::path gone, kept;
  {
    auto a = TempDir::create(parent.path(), "a-");
    auto b = TempDir::create(parent.path(), "b-");
    ASSERT_TRUE(a.isOk() && b.isOk());
    gone = a->path();
    testing::writeFile(gone / "sub" / "f", "x");
    kept = b->keep();
  }
  EXPECT_FALSE(fs::exists(gone));
  EXPECT_TRUE(fs::is_directory(kept));
}

TEST(TempDirTest, MissingParentIsNotFound) {
  auto r = TempDir::create("/nonexistent-nixsnap-parent", "x-");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
}

}  // namespace
}  // namespace nixsnap
