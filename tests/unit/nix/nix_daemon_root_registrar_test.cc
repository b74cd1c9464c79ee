// Registering indirect roots through `nix-daemon --stdio` (worker protocol).
#include "nix/nix_daemon_root_registrar.h"

#include <gmock/gmock.h>

#include <functional>

#include "mocks/common_mocks.h"
#include "nix/worker_protocol.h"
#include "worker_session.h"

namespace nixsnap::testing {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StrictMock;

Result<ProcessResult> replied(std::string out, int exit_code = 0, std::string err = "") {
  return ProcessResult{exit_code, std::move(out), std::move(err)};
}

class NixDaemonRootRegistrarTest : public ::testing::Test {
 protected:
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
  nix::NixDaemonRootRegistrar registrar_{runner_};
  std::vector<fs::path> roots_{"/r/gcroots/1/aaaa-a", "/r/gcroots/1/bbbbbbbbbbbbbbbb-b"};
};

TEST_F(NixDaemonRootRegistrarTest, SessionBytesFollowTheWorkerProtocol) {
  std::string s = sessionFor({"/r/x"});
  // "cxin" little-endian, version 1.21, affinity 0, reserveSpace 0.
  ASSERT_EQ(s.size(), 4 * 8 + 8 + 8 + 8);
  EXPECT_EQ(s.substr(0, 8), std::string("cxin\0\0\0\0", 8));
  EXPECT_EQ(s.substr(8, 8), std::string("\x15\x01\0\0\0\0\0\0", 8));
  EXPECT_EQ(s.substr(32, 8), std::string("\x0c\0\0\0\0\0\0\0", 8));  // AddIndirectRoot
  EXPECT_EQ(s.substr(40, 8), std::string("\x04\0\0\0\0\0\0\0", 8));  // length
  EXPECT_EQ(s.substr(48, 8), std::string("/r/x\0\0\0\0", 8));        // padded
}

TEST_F(NixDaemonRootRegistrarTest, OneSessionRegistersEveryRoot) {
  EXPECT_CALL(*runner_, run(ElementsAre("nix-daemon", "--stdio"),
                            Field(&ProcessOptions::stdin_data, sessionFor(roots_))))
      .WillOnce(Return(replied(daemonReplyFor(2, /*log_each=*/true))));
  Status st = registrar_.registerRoots(roots_);
  EXPECT_TRUE(st.isOk()) << st.toString();
}

TEST_F(NixDaemonRootRegistrarTest, StdinStaysOpenUntilEveryReplyOrAnErrorIsIn) {
  std::function<bool(const std::string&)> close_when;
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(::testing::Invoke([&](const std::vector<std::string>&, const ProcessOptions& o) {
        close_when = o.close_stdin_when;
        return replied(daemonReplyFor(2));
      }));
  ASSERT_TRUE(registrar_.registerRoots(roots_).isOk());
  ASSERT_TRUE(close_when);
  std::string full = daemonReplyFor(2, /*log_each=*/true);
  for (size_t cut : {size_t{0}, size_t{8}, size_t{30}, full.size() - 1}) {
    EXPECT_FALSE(close_when(full.substr(0, cut))) << cut;
  }
  EXPECT_TRUE(close_when(full));
  std::string refused = daemonReplyFor(0);
  nix::worker::putU64(refused, nix::worker::kStderrError);
  nix::worker::putString(refused, "error: user not allowed");
  nix::worker::putU64(refused, 1);
  EXPECT_TRUE(close_when(refused));  // the rest will never come
}

TEST_F(NixDaemonRootRegistrarTest, ActivitiesBetweenRepliesAreSkipped) {
  std::string out;
  nix::worker::putU64(out, nix::worker::kMagic2);
  nix::worker::putU64(out, (1 << 8) | 34);
  nix::worker::putU64(out, nix::worker::kStderrLast);
  nix::worker::putU64(out, nix::worker::kStderrStartActivity);
  for (uint64_t v : {7, 3, 100}) {
    nix::worker::putU64(out, v);
  }
  nix::worker::putString(out, "adding root");
  nix::worker::putU64(out, 2);  // fields: an int and a string
  nix::worker::putU64(out, 0);
  nix::worker::putU64(out, 42);
  nix::worker::putU64(out, 1);
  nix::worker::putString(out, "field");
  nix::worker::putU64(out, 0);  // parent
  nix::worker::putU64(out, nix::worker::kStderrResult);
  nix::worker::putU64(out, 7);
  nix::worker::putU64(out, 105);
  nix::worker::putU64(out, 0);
  nix::worker::putU64(out, nix::worker::kStderrStopActivity);
  nix::worker::putU64(out, 7);
  nix::worker::putU64(out, nix::worker::kStderrLast);
  nix::worker::putU64(out, 1);
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(replied(out)));
  Status st = registrar_.registerRoots({roots_[0]});
  EXPECT_TRUE(st.isOk()) << st.toString();
}

TEST_F(NixDaemonRootRegistrarTest, RefusedRootNamesItWithNixsText) {
  std::string out = daemonReplyFor(1);
  nix::worker::putU64(out, nix::worker::kStderrError);
  nix::worker::putString(out,
                         "error: creating symlink '/nix/var/nix/gcroots/auto/x': "
                         "Permission denied\n");
  nix::worker::putU64(out, 1);
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(replied(out)));
  Status st = registrar_.registerRoots(roots_);
  EXPECT_EQ(st.code(), ErrorCode::PermissionDenied);
  EXPECT_THAT(st.message(), AllOf(HasSubstr(roots_[1].string()), HasSubstr("gcroots/auto/x"),
                                  HasSubstr("nix-daemon --stdio")));
}

TEST_F(NixDaemonRootRegistrarTest, NoGreetingIsUnavailableWithStderr) {
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(replied("", 1,
                               "error: cannot connect to socket at "
                               "'/nix/var/nix/daemon-socket/socket': No such file\n")));
  Status st = registrar_.registerRoots(roots_);
  EXPECT_EQ(st.code(), ErrorCode::Unavailable);
  EXPECT_THAT(st.message(), AllOf(HasSubstr("cannot connect"),
                                  HasSubstr("nix-daemon --stdio exited with status 1")));
}

TEST_F(NixDaemonRootRegistrarTest, CutOffOrHostileRepliesAreInternal) {
  std::string cut = daemonReplyFor(2);
  cut.resize(cut.size() - 8);  // the last result is missing
  std::string huge = daemonReplyFor(0);
  nix::worker::putU64(huge, nix::worker::kStderrNext);
  nix::worker::putU64(huge, ~uint64_t{0});  // a string "longer" than everything
  std::string unknown = daemonReplyFor(0);
  nix::worker::putU64(unknown, 0x1234);
  for (const std::string& out : {cut, huge, unknown}) {
    EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(replied(out)));
    Status st = registrar_.registerRoots(roots_);
    EXPECT_EQ(st.code(), ErrorCode::Internal) << st.toString();
    EXPECT_THAT(st.message(), HasSubstr("registering gc roots"));
  }
}

TEST_F(NixDaemonRootRegistrarTest, MissingProgramIsUnavailable) {
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(Result<ProcessResult>(unavailable("starting \"nix-daemon\": not found"))));
  EXPECT_EQ(registrar_.registerRoots(roots_).code(), ErrorCode::Unavailable);
}

TEST_F(NixDaemonRootRegistrarTest, NoRootsRunsNothing) {
  EXPECT_TRUE(registrar_.registerRoots({}).isOk());
}

}  // namespace
}  // namespace nixsnap::testing
