#include "cri/nix_store_archive_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mocks/cri_mocks.h"
#include "support/test_env.h"

namespace nixsnap::cri {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StrictMock;

class NixStoreArchiveSourceTest : public ::testing::Test {
 protected:
  NixStoreArchiveSourceTest() : dir_(::nixsnap::testing::makeTempDir()) {
    fs::create_directories(store());
  }
  fs::path store() const { return dir_.path() / "store"; }
  fs::path archive() const { return store() / "0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-img.tar"; }

  TempDir dir_;
  std::shared_ptr<StrictMock<testing::MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<testing::MockProcessRunner>>();
};

TEST_F(NixStoreArchiveSourceTest, RealisesWithNixStore) {
  ::nixsnap::testing::writeFile(archive(), "tar");
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", "--realise", archive().string()), _))
      .WillOnce(Return(ProcessResult{0, archive().string() + "\n", ""}));
  NixStoreArchiveSource source(runner_, store());
  Status st = source.ensureValid(archive());
  EXPECT_TRUE(st.isOk()) << st.message();
}

TEST_F(NixStoreArchiveSourceTest, UnrealisablePathIsNotFoundWithNixStoresReason) {
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(ProcessResult{1, "", "warning: x\nerror: path '" + archive().string() +
                                                "' is required, but there is no substituter\n"}));
  NixStoreArchiveSource source(runner_, store());
  Status st = source.ensureValid(archive());
  EXPECT_EQ(st.code(), ErrorCode::NotFound);
  EXPECT_THAT(st.message(), HasSubstr("no substituter"));
  EXPECT_THAT(st.message(), HasSubstr(archive().string()));
}

TEST_F(NixStoreArchiveSourceTest, MissingNixStoreIsUnavailable) {
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(unavailable("executing nix-store: ENOENT")));
  NixStoreArchiveSource source(runner_, store());
  EXPECT_EQ(source.ensureValid(archive()).code(), ErrorCode::Unavailable);
}

TEST_F(NixStoreArchiveSourceTest, SymlinkOutOfTheStoreIsInvalidArgument) {
  ::nixsnap::testing::writeFile(dir_.path() / "outside.tar", "tar");
  fs::create_symlink(dir_.path() / "outside.tar", archive());
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(ProcessResult{0, "", ""}));
  NixStoreArchiveSource source(runner_, store());
  Status st = source.ensureValid(archive());
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("outside the store"));
}

TEST_F(NixStoreArchiveSourceTest, DirectoryIsNotAnImageArchive) {
  fs::create_directories(archive());
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(ProcessResult{0, "", ""}));
  NixStoreArchiveSource source(runner_, store());
  Status st = source.ensureValid(archive());
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("is a directory, not an image archive"));
  EXPECT_THAT(st.message(), HasSubstr(archive().string()));
}

}  // namespace
}  // namespace nixsnap::cri
