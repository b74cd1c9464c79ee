#include "nix/external_builder_store.h"

#include <gmock/gmock.h>
#include <unistd.h>

#include "mocks/common_mocks.h"
#include "mocks/nix_mocks.h"
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
  std::shared_ptr<StrictMock<MockRootRegistrar>> registrar_ =
      std::make_shared<StrictMock<MockRootRegistrar>>();
  nix::ExternalBuilderStore store_{runner_, "/opt/builder", dir_.path() / "state", "nix-store",
                                   registrar_};
  /// A store path that exists on disk (a made-up store dir).
  fs::path onDisk(char c) {
    fs::path p = dir_.path() / "store" / (std::string(32, c) + "-x");
    fs::create_directories(p);
    return p;
  }
};

std::string readLink(const fs::path& p) {
  char buf[4096];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

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

TEST_F(ExternalBuilderStoreTest, FailureWithoutOutputNamesTheBuilderAndStatus) {
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{2, "", ""})));
  Status st = store_.realise({path('a')}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_THAT(st.message(), HasSubstr("/opt/builder exited with status 2 (no output)"));
  EXPECT_FALSE(fs::exists(roots_));
}

TEST_F(ExternalBuilderStoreTest, KnownValidPathIsRootedWithoutTheBuilder) {
  fs::path a = onDisk('a'), b = path('b');
  EXPECT_CALL(*registrar_, registerRoots(ElementsAre(roots_ / a.filename())))
      .WillOnce(Return(Status::ok()));
  // The builder runs for b only.
  EXPECT_CALL(*runner_,
              run(ElementsAre("/opt/builder", (roots_ / b.filename()).string(), b.string()), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{})));
  ASSERT_TRUE(store_.realiseKnownValid({a, b}, roots_, CancelToken(), {a}).isOk());
  EXPECT_EQ(readLink(roots_ / a.filename()), a.string());
}

TEST_F(ExternalBuilderStoreTest, KnownValidPathIsBuiltWhenNixRefusesTheRoot) {
  fs::path a = onDisk('a');
  EXPECT_CALL(*registrar_, registerRoots(_))
      .WillOnce(Return(Status(ErrorCode::Unavailable, "starting nix-daemon: not found")));
  EXPECT_CALL(*runner_, run(ElementsAre("/opt/builder", _, a.string()), _))
      .WillOnce(Invoke([&](const std::vector<std::string>& argv, const ProcessOptions&) {
        // Our unregistered link is gone: the builder makes its own outlink.
        EXPECT_FALSE(fs::exists(fs::symlink_status(argv[1])));
        return Result<ProcessResult>(ProcessResult{});
      }));
  EXPECT_TRUE(store_.realiseKnownValid({a}, roots_, CancelToken(), {a}).isOk());
}

TEST_F(ExternalBuilderStoreTest, KnownValidPathGoneFromDiskIsBuilt) {
  fs::path gone = path('g');  // not on disk: collected since
  EXPECT_CALL(*registrar_, registerRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*runner_, run(ElementsAre("/opt/builder", _, gone.string()), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{})));
  EXPECT_TRUE(store_.realiseKnownValid({gone}, roots_, CancelToken(), {gone}).isOk());
}

TEST_F(ExternalBuilderStoreTest, FailureAfterRootingKnownValidPathsRemovesThoseRootsToo) {
  fs::path a = onDisk('a'), b = path('b');
  EXPECT_CALL(*registrar_, registerRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{1, "", "no\n"})));
  EXPECT_EQ(store_.realiseKnownValid({a, b}, roots_, CancelToken(), {a}).code(),
            ErrorCode::Internal);
  EXPECT_FALSE(fs::exists(roots_));
}

TEST_F(ExternalBuilderStoreTest, CancelReachesTheBuilderAndCanceledRemovesOutlinks) {
  fs::path a = path('a'), b = path('b');
  CancelToken cancel([] { return true; });
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Invoke([&](const std::vector<std::string>& argv, const ProcessOptions& o) {
        EXPECT_TRUE(o.cancel.cancelled());  // the caller's token, for the runner to poll
        EXPECT_EQ(::symlink(a.c_str(), argv[1].c_str()), 0);  // half-made outlink
        return Result<ProcessResult>(
            Status(ErrorCode::Canceled, "running /opt/builder: stopped, the caller gave up"));
      }));
  Status st = store_.realise({a, b}, roots_, cancel);
  EXPECT_EQ(st.code(), ErrorCode::Canceled) << st.toString();
  EXPECT_THAT(st.message(), HasSubstr("/opt/builder"));
  EXPECT_FALSE(fs::exists(roots_));
}

}  // namespace
}  // namespace nixsnap::testing
