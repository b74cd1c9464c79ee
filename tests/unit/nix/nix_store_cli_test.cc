#include "nix/nix_store_cli.h"

#include <gmock/gmock.h>
#include <unistd.h>

#include "mocks/common_mocks.h"
#include "nix/external_builder_store.h"
#include "nix/gc_roots.h"
#include "nix/requisites_query.h"
#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::StrictMock;

std::string readLink(const fs::path& p) {
  char buf[4096];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

class NixStoreCliTest : public ::testing::Test {
 protected:
  fs::path path(char c, const std::string& name) {
    return fs::path("/nix/store/" + std::string(32, c) + "-" + name);
  }
  TempDir dir_ = makeTempDir();
  fs::path state_ = dir_.path() / "state";
  fs::path roots_ = dir_.path() / "gcroots" / "7";
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
  nix::NixStoreCli store_{runner_, state_};
};

TEST_F(NixStoreCliTest, RootsFirstThenOneRealiseForAllPaths) {
  fs::path a = path('a', "a"), b = path('b', "b");
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", "--realise", a.string(), b.string()), _))
      .WillOnce(Invoke([&](const std::vector<std::string>&, const ProcessOptions&) {
        // The roots and their registrations exist before nix-store runs.
        EXPECT_EQ(readLink(roots_ / a.filename()), a.string());
        EXPECT_EQ(readLink(nix::autoRootLink(state_, roots_ / b.filename())),
                  (roots_ / b.filename()).string());
        return Result<ProcessResult>(ProcessResult{0, a.string() + "\n" + b.string() + "\n", ""});
      }));
  ASSERT_TRUE(store_.realise({a, b}, roots_).isOk());
  EXPECT_EQ(readLink(roots_ / a.filename()), a.string());
  EXPECT_EQ(readLink(roots_ / b.filename()), b.string());
  EXPECT_TRUE(fs::is_symlink(nix::autoRootLink(state_, roots_ / a.filename())));
}

TEST_F(NixStoreCliTest, FailureRemovesRootsAndReturnsNixError) {
  fs::path a = path('a', "a");
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{
          1, "", "error: don't know how to build these paths:\n  " + a.string() + "\n"})));
  Status st = store_.realise({a}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::NotFound);
  EXPECT_THAT(st.message(), HasSubstr("don't know how to build"));
  EXPECT_THAT(st.message(), HasSubstr(a.string()));
  EXPECT_FALSE(fs::exists(roots_));
  EXPECT_FALSE(fs::is_symlink(nix::autoRootLink(state_, roots_ / a.filename())));
}

TEST_F(NixStoreCliTest, OtherFailuresAreInternal) {
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{1, "", "error: disk full\n"})));
  Status st = store_.realise({path('c', "c")}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_THAT(st.message(), HasSubstr("disk full"));
}

TEST_F(NixStoreCliTest, MissingNixStoreIsUnavailable) {
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(Result<ProcessResult>(
      unavailable("starting \"nix-store\": No such file or directory"))));
  Status st = store_.realise({path('c', "c")}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::Unavailable);
  EXPECT_FALSE(fs::exists(roots_));
}

TEST_F(NixStoreCliTest, ThousandsOfPathsUseFewProcesses) {
  std::vector<fs::path> paths;
  for (int i = 0; i < 3000; ++i) {
    paths.push_back(path('a', "p" + std::to_string(i)));
  }
  std::vector<size_t> sizes;
  EXPECT_CALL(*runner_, run(_, _))
      .Times(2)
      .WillRepeatedly(Invoke([&](const std::vector<std::string>& argv, const ProcessOptions&) {
        sizes.push_back(argv.size() - 2);
        return Result<ProcessResult>(ProcessResult{});
      }));
  ASSERT_TRUE(store_.realise(paths, roots_).isOk());
  EXPECT_EQ(sizes, (std::vector<size_t>{2000, 1000}));
}

TEST_F(NixStoreCliTest, RemoveRootsDeletesLinksAndRegistrations) {
  fs::path a = path('a', "a");
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(Result<ProcessResult>(ProcessResult{})));
  ASSERT_TRUE(store_.realise({a}, roots_).isOk());
  fs::path link = nix::autoRootLink(state_, roots_ / a.filename());
  ASSERT_EQ(readLink(link), (roots_ / a.filename()).string());
  ASSERT_TRUE(store_.removeRoots(roots_).isOk());
  // At return the registration already dangles: Nix no longer counts the root.
  EXPECT_FALSE(fs::exists(roots_));
  store_.waitForRemovals();
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_TRUE(fs::is_empty(roots_.parent_path()));  // the detached folder is gone too
  EXPECT_TRUE(store_.removeRoots(roots_).isOk());  // missing is fine
}

TEST_F(NixStoreCliTest, RemoveRootsOfManyPathsReturnsBeforeTheUnlinking) {
  std::vector<fs::path> paths;
  for (int i = 0; i < 300; ++i) {
    std::string n = std::to_string(i);
    paths.emplace_back("/nix/store/" + std::string(32 - n.size(), 'a') + n + "-p");
  }
  EXPECT_CALL(*runner_, run(_, _))
      .WillRepeatedly(Return(Result<ProcessResult>(ProcessResult{})));
  ASSERT_TRUE(store_.realise(paths, roots_).isOk());
  ASSERT_TRUE(store_.removeRoots(roots_).isOk());
  EXPECT_FALSE(fs::exists(roots_));
  for (const fs::path& p : {paths.front(), paths.back()}) {
    fs::path link = nix::autoRootLink(state_, roots_ / p.filename());
    // Still registered or already deleted: either way its target is gone.
    EXPECT_FALSE(fs::exists(link));
  }
  store_.waitForRemovals();
  EXPECT_TRUE(fs::is_empty(state_ / "gcroots" / "auto"));
  EXPECT_TRUE(fs::is_empty(roots_.parent_path()));
}

TEST_F(NixStoreCliTest, EmptyListDoesNothing) { EXPECT_TRUE(store_.realise({}, roots_).isOk()); }

}  // namespace
}  // namespace nixsnap::testing

namespace nixsnap::testing {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StrictMock;

class RequisitesQueryTest : public ::testing::Test {
 protected:
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
  nix::NixStoreCli store_{runner_, "/nix/var/nix"};
  fs::path closure_ = "/nix/store/" + std::string(32, 'c') + "-closure-info";
};

TEST_F(RequisitesQueryTest, OneQueryReturnsEveryLineWithOutputCapped) {
  std::string a = "/nix/store/" + std::string(32, 'a') + "-a";
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", "--query", "--requisites", closure_.string()),
                            Field(&ProcessOptions::max_output_bytes,
                                  nix::kMaxRequisitesOutputBytes)))
      .WillOnce(Return(Result<ProcessResult>(
          ProcessResult{0, a + "\n" + closure_.string() + "\n", ""})));
  auto r = store_.requisites(closure_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_THAT(*r, ElementsAre(fs::path(a), closure_));
}

TEST_F(RequisitesQueryTest, InvalidPathIsFailedPreconditionWithNixText) {
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{
          1, "", "error: path '" + closure_.string() + "' is not valid\n"})));
  auto r = store_.requisites(closure_);
  EXPECT_EQ(r.status().code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("is not valid"));
  EXPECT_THAT(r.status().message(), HasSubstr(closure_.string()));
}

TEST_F(RequisitesQueryTest, ExternalBuilderStoreQueriesNixStoreToo) {
  nix::ExternalBuilderStore ext(runner_, "/bin/builder", "/nix/var/nix", "/opt/nix-store");
  EXPECT_CALL(*runner_,
              run(ElementsAre("/opt/nix-store", "--query", "--requisites", closure_.string()), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{0, closure_.string() + "\n", ""})));
  auto r = ext.requisites(closure_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_THAT(*r, ElementsAre(closure_));
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(Status(ErrorCode::Unavailable, "not found"))));
  EXPECT_EQ(ext.requisites(closure_).status().code(), ErrorCode::Unavailable);
}

}  // namespace
}  // namespace nixsnap::testing
