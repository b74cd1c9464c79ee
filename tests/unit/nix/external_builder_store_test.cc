#include "nix/external_builder_store.h"

#include <gmock/gmock.h>
#include <unistd.h>

#include "mocks/common_mocks.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::StrictMock;

class ExternalBuilderStoreTest : public ::testing::Test {
 protected:
  fs::path path(char c) { return fs::path("/nix/store/" + std::string(32, c) + "-x"); }
  TempDir dir_ = makeTempDir();
  fs::path roots_ = dir_.path() / "gcroots" / "3";
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
  nix::ExternalBuilderStore store_{runner_, "/opt/builder", dir_.path() / "state"};
};

TEST_F(ExternalBuilderStoreTest, CallsBuilderOncePerPathInOrder) {
  InSequence seq;
  for (char c : {'a', 'b'}) {
    fs::path p = path(c);
    EXPECT_CALL(*runner_,
                run(ElementsAre("/opt/builder", (roots_ / p.filename()).string(), p.string()), _))
        .WillOnce(Return(Result<ProcessResult>(ProcessResult{})));
  }
  EXPECT_TRUE(store_.realise({path('a'), path('b')}, roots_).isOk());
}

TEST_F(ExternalBuilderStoreTest, FailureStopsAndRemovesOutlinksCreated) {
  fs::path a = path('a'), b = path('b');
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Invoke([&](const std::vector<std::string>& argv, const ProcessOptions&) {
        EXPECT_EQ(::symlink(a.c_str(), argv[1].c_str()), 0);  // the builder's outlink
        return Result<ProcessResult>(ProcessResult{});
      }))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{2, "", "build of b failed\n"})));
  Status st = store_.realise({a, b, path('c')}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_THAT(st.message(), HasSubstr("build of b failed"));
  EXPECT_THAT(st.message(), HasSubstr(b.string()));
  EXPECT_FALSE(fs::exists(roots_));
}

}  // namespace
}  // namespace nixsnap::testing
