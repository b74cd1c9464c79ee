#include "nix/nix_store_cli.h"

#include <gmock/gmock.h>
#include <sqlite3.h>
#include <unistd.h>

#include "mocks/common_mocks.h"
#include "nix/external_builder_store.h"
#include "nix/gc_roots.h"
#include "nix/requisites_query.h"
#include "support/test_env.h"
#include "worker_session.h"

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
  /// Every `nix-daemon --stdio` session goes to daemon_ (registrations recorded there).
  void fakeDaemon() {
    EXPECT_CALL(*runner_, run(ElementsAre("nix-daemon", "--stdio"), _))
        .WillRepeatedly(Invoke(std::ref(daemon_)));
  }
  TempDir dir_ = makeTempDir();
  fs::path state_ = dir_.path() / "state";
  fs::path roots_ = dir_.path() / "gcroots" / "7";
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
  nix::NixStoreCli store_{runner_, state_};
  FakeNixDaemon daemon_;
};

TEST_F(NixStoreCliTest, RootsRegisteredThroughNixThenOneRealiseForAllPaths) {
  fs::path a = path('a', "a"), b = path('b', "b");
  ::testing::InSequence seq;
  EXPECT_CALL(*runner_, run(ElementsAre("nix-daemon", "--stdio"), _))
      .WillOnce(Invoke([&](const std::vector<std::string>& argv, const ProcessOptions& o) {
        // The symlinks exist when Nix registers them.
        EXPECT_EQ(readLink(roots_ / a.filename()), a.string());
        EXPECT_EQ(readLink(roots_ / b.filename()), b.string());
        return daemon_(argv, o);
      }));
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", "--realise", a.string(), b.string()), _))
      .WillOnce(Invoke([&](const std::vector<std::string>&, const ProcessOptions&) {
        // The roots are registered before nix-store runs.
        EXPECT_THAT(daemon_.registered, ElementsAre((roots_ / a.filename()).string(),
                                                    (roots_ / b.filename()).string()));
        return Result<ProcessResult>(ProcessResult{0, a.string() + "\n" + b.string() + "\n", ""});
      }));
  ASSERT_TRUE(store_.realise({a, b}, roots_).isOk());
  EXPECT_EQ(readLink(roots_ / a.filename()), a.string());
  EXPECT_EQ(readLink(roots_ / b.filename()), b.string());
  // Nothing but Nix writes Nix's state directory.
  EXPECT_FALSE(fs::exists(state_));
}

TEST_F(NixStoreCliTest, NixDaemonNextToAGivenNixStore) {
  nix::NixStoreCli store(runner_, state_, "/opt/nix/bin/nix-store");
  fs::path a = path('a', "a");
  EXPECT_CALL(*runner_, run(ElementsAre("/opt/nix/bin/nix-daemon", "--stdio"), _))
      .WillOnce(Invoke(std::ref(daemon_)));
  EXPECT_CALL(*runner_, run(ElementsAre("/opt/nix/bin/nix-store", "--realise", a.string()), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{})));
  EXPECT_TRUE(store.realise({a}, roots_).isOk());
}

TEST_F(NixStoreCliTest, RefusedRegistrationRemovesRootsAndRealisesNothing) {
  fs::path a = path('a', "a");
  EXPECT_CALL(*runner_, run(ElementsAre("nix-daemon", "--stdio"), _))
      .WillOnce(Return(Result<ProcessResult>(
          ProcessResult{1, "", "error: cannot connect to socket: Permission denied\n"})));
  Status st = store_.realise({a}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::Unavailable);
  EXPECT_THAT(st.message(), HasSubstr("Permission denied"));
  EXPECT_FALSE(fs::exists(roots_));
}

TEST_F(NixStoreCliTest, FailureRemovesRootsAndReturnsNixError) {
  fs::path a = path('a', "a");
  fakeDaemon();
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", _, _), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{
          1, "", "error: don't know how to build these paths:\n  " + a.string() + "\n"})));
  Status st = store_.realise({a}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::NotFound);
  EXPECT_THAT(st.message(), HasSubstr("don't know how to build"));
  EXPECT_THAT(st.message(), HasSubstr(a.string()));
  EXPECT_FALSE(fs::exists(roots_));  // the registration Nix made now dangles
}

TEST_F(NixStoreCliTest, NewerNixWordingOfAMissingPathIsNotFound) {
  fs::path a = path('a', "a");
  for (const std::string& words :
       {"error: path '" + a.string() +
            "' is required, but there is no substituter that can build it",
        "error: path '" + a.string() + "' does not exist and cannot be created"}) {
    fakeDaemon();
    EXPECT_CALL(*runner_, run(ElementsAre("nix-store", _, _), _))
        .WillOnce(Return(Result<ProcessResult>(ProcessResult{1, "", words + "\n"})));
    Status st = store_.realise({a}, roots_);
    EXPECT_EQ(st.code(), ErrorCode::NotFound) << words;
    EXPECT_THAT(st.message(), HasSubstr(a.string()));
    EXPECT_FALSE(fs::exists(roots_));
  }
}

TEST_F(NixStoreCliTest, OtherFailuresAreInternal) {
  fakeDaemon();
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", _, _), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{1, "", "error: disk full\n"})));
  Status st = store_.realise({path('c', "c")}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_THAT(st.message(), HasSubstr("disk full"));
}

// A nix-store that failed without a word used to give "nix-store exited 1: ", no detail.
TEST_F(NixStoreCliTest, FailureWithoutOutputNamesCommandAndStatus) {
  fakeDaemon();
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", _, _), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{1, "", ""})));
  Status st = store_.realise({path('c', "c")}, roots_);
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_THAT(st.message(), HasSubstr("nix-store --realise exited with status 1 (no output)"));
}

TEST_F(NixStoreCliTest, MissingNixStoreIsUnavailable) {
  fakeDaemon();
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", _, _), _))
      .WillOnce(Return(
          Result<ProcessResult>(unavailable("starting \"nix-store\": No such file or directory"))));
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
  EXPECT_CALL(*runner_, run(ElementsAre("nix-daemon", "--stdio"), _))
      .WillOnce(Invoke(std::ref(daemon_)));
  EXPECT_CALL(*runner_, run(::testing::Contains("--realise"), _))
      .Times(2)
      .WillRepeatedly(Invoke([&](const std::vector<std::string>& argv, const ProcessOptions&) {
        sizes.push_back(argv.size() - 2);
        return Result<ProcessResult>(ProcessResult{});
      }));
  ASSERT_TRUE(store_.realise(paths, roots_).isOk());
  EXPECT_EQ(sizes, (std::vector<size_t>{2000, 1000}));
  EXPECT_EQ(daemon_.registered.size(), 3000u);  // one nix-daemon session for all
}

TEST_F(NixStoreCliTest, RemoveRootsDeletesTheLinks) {
  fs::path a = path('a', "a");
  fakeDaemon();
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", _, _), _))
      .WillOnce(Return(Result<ProcessResult>(ProcessResult{})));
  ASSERT_TRUE(store_.realise({a}, roots_).isOk());
  ASSERT_TRUE(store_.removeRoots(roots_).isOk());
  // At return the registration already dangles: Nix no longer counts the root.
  EXPECT_FALSE(fs::exists(roots_));
  store_.waitForRemovals();
  EXPECT_TRUE(fs::is_empty(roots_.parent_path()));  // the detached folder is gone too
  EXPECT_TRUE(store_.removeRoots(roots_).isOk());   // missing is fine
}

TEST_F(NixStoreCliTest, RemoveRootsOfManyPathsReturnsBeforeTheUnlinking) {
  std::vector<fs::path> paths;
  for (int i = 0; i < 300; ++i) {
    std::string n = std::to_string(i);
    paths.emplace_back("/nix/store/" + std::string(32 - n.size(), 'a') + n + "-p");
  }
  fakeDaemon();
  EXPECT_CALL(*runner_, run(::testing::Contains("--realise"), _))
      .WillRepeatedly(Return(Result<ProcessResult>(ProcessResult{})));
  ASSERT_TRUE(store_.realise(paths, roots_).isOk());
  ASSERT_TRUE(store_.removeRoots(roots_).isOk());
  EXPECT_FALSE(fs::exists(roots_));
  for (const std::string& r : {daemon_.registered.front(), daemon_.registered.back()}) {
    EXPECT_FALSE(fs::exists(r));  // what Nix registered no longer resolves
  }
  store_.waitForRemovals();
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
  TempDir dir_ = makeTempDir();  // a Nix state dir without a database: nix-store answers
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
  nix::NixStoreCli store_{runner_, dir_.path()};
  fs::path closure_ = "/nix/store/" + std::string(32, 'c') + "-closure-info";
};

TEST_F(RequisitesQueryTest, OneQueryReturnsEveryLineWithOutputCapped) {
  std::string a = "/nix/store/" + std::string(32, 'a') + "-a";
  EXPECT_CALL(*runner_,
              run(ElementsAre("nix-store", "--query", "--requisites", closure_.string()),
                  Field(&ProcessOptions::max_output_bytes, nix::kMaxRequisitesOutputBytes)))
      .WillOnce(
          Return(Result<ProcessResult>(ProcessResult{0, a + "\n" + closure_.string() + "\n", ""})));
  auto r = store_.requisites(closure_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_THAT(*r, ElementsAre(fs::path(a), closure_));
}

TEST_F(RequisitesQueryTest, InvalidPathIsFailedPreconditionWithNixText) {
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(
          ProcessResult{1, "", "error: path '" + closure_.string() + "' is not valid\n"})));
  auto r = store_.requisites(closure_);
  EXPECT_EQ(r.status().code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("is not valid"));
  EXPECT_THAT(r.status().message(), HasSubstr(closure_.string()));
}

TEST_F(RequisitesQueryTest, FailureWithoutOutputNamesCommandAndStatus) {
  ProcessResult killed{128 + 9, "", ""};
  killed.term_signal = 9;
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(Result<ProcessResult>(killed)));
  auto r = store_.requisites(closure_);
  EXPECT_EQ(r.status().code(), ErrorCode::Internal);
  EXPECT_THAT(r.status().message(),
              HasSubstr("nix-store --query --requisites was killed by signal 9 (no output)"));
}

TEST_F(RequisitesQueryTest, ExternalBuilderStoreQueriesNixStoreToo) {
  nix::ExternalBuilderStore ext(runner_, "/bin/builder", dir_.path(), "/opt/nix-store");
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

namespace nixsnap::testing {
namespace {

/// A Nix state dir whose db/db.sqlite has Nix's tables (schema 10) and a small graph:
/// top -> a -> b, top -> c; d stands alone.
class NixDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "db");
    writeFile(dir_.path() / "db" / "schema", "10");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "db" / "db.sqlite").c_str(), &db), SQLITE_OK);
    std::string sql =
        "CREATE TABLE ValidPaths (id integer primary key autoincrement not null, path text "
        "unique not null, hash text not null, registrationTime integer not null, deriver text, "
        "narSize integer, ultimate integer, sigs text, ca text);"
        "CREATE TABLE Refs (referrer integer not null, reference integer not null, primary key "
        "(referrer, reference));";
    int id = 0;
    for (const std::string& p : {top_, a_, b_, c_, d_}) {
      sql += "INSERT INTO ValidPaths (id, path, hash, registrationTime) VALUES (" +
             std::to_string(++id) + ", '" + p + "', 'sha256:x', 0);";
    }
    sql += "INSERT INTO Refs VALUES (1, 2), (2, 3), (1, 4), (1, 1), (3, 2);";  // self ref, cycle
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  static std::string path(char c, const std::string& name) {
    return "/nix/store/" + std::string(32, c) + "-" + name;
  }
  TempDir dir_ = makeTempDir();
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
  std::string top_ = path('t', "closure-info"), a_ = path('a', "a"), b_ = path('b', "b"),
              c_ = path('c', "c"), d_ = path('d', "d");
};

TEST_F(NixDbTest, RequisitesComeFromTheDatabaseWithoutRunningNixStore) {
  nix::NixStoreCli store(runner_, dir_.path());  // StrictMock: no process may run
  auto r = store.requisites(top_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_THAT(*r, ::testing::UnorderedElementsAre(fs::path(top_), fs::path(a_), fs::path(b_),
                                                  fs::path(c_)));
  auto leaf = store.requisites(b_);
  ASSERT_TRUE(leaf.isOk());
  EXPECT_THAT(*leaf, ::testing::UnorderedElementsAre(fs::path(a_), fs::path(b_)));
}

TEST_F(NixDbTest, InvalidPathIsFailedPrecondition) {
  nix::NixStoreCli store(runner_, dir_.path());
  auto r = store.requisites(path('x', "absent"));
  EXPECT_EQ(r.status().code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("absent"));
}

TEST_F(NixDbTest, UnknownSchemaFallsBackToNixStore) {
  writeFile(dir_.path() / "db" / "schema", "11");
  nix::NixStoreCli store(runner_, dir_.path());
  EXPECT_CALL(*runner_, run(::testing::ElementsAre("nix-store", "--query", "--requisites", top_),
                            ::testing::_))
      .WillOnce(::testing::Return(Result<ProcessResult>(ProcessResult{0, top_ + "\n", ""})));
  auto r = store.requisites(top_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_THAT(*r, ::testing::ElementsAre(fs::path(top_)));
}

TEST_F(NixDbTest, UnreadableDatabaseFallsBackToNixStore) {
  fs::remove(dir_.path() / "db" / "db.sqlite");
  writeFile(dir_.path() / "db" / "db.sqlite", "not a database");
  nix::NixStoreCli store(runner_, dir_.path());
  EXPECT_CALL(*runner_, run(::testing::_, ::testing::_))
      .WillOnce(::testing::Return(Result<ProcessResult>(ProcessResult{0, top_ + "\n", ""})));
  EXPECT_TRUE(store.requisites(top_).isOk());
}

TEST_F(NixStoreCliTest, CancelReachesNixStoreAndCanceledRemovesRoots) {
  fs::path a = path('a', "a");
  fakeDaemon();
  CancelToken cancel([] { return true; });
  EXPECT_CALL(*runner_, run(ElementsAre("nix-store", "--realise", a.string()), _))
      .WillOnce(Invoke([&](const std::vector<std::string>&, const ProcessOptions& o) {
        EXPECT_TRUE(o.cancel.cancelled());
        return Result<ProcessResult>(
            Status(ErrorCode::Canceled, "running nix-store: stopped, the caller gave up"));
      }));
  Status st = store_.realise({a}, roots_, cancel);
  EXPECT_EQ(st.code(), ErrorCode::Canceled) << st.toString();
  EXPECT_THAT(st.message(), HasSubstr("nix-store"));
  EXPECT_FALSE(fs::exists(roots_));
}

}  // namespace
}  // namespace nixsnap::testing
