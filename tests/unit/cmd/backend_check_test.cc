#include "cmd/backend_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>

#include "mocks/common_mocks.h"
#include "mocks/containerd_mocks.h"
#include "mocks/cri_mocks.h"

namespace nixsnap::cmd {
namespace {

using ::testing::_;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::StrictMock;
namespace v1 = runtime::v1;
using std::chrono::milliseconds;

// containerd 2.x's verbose Status: runtime config only, no disableSnapshotAnnotations.
const char* kStatus2 = R"({"containerd":{"defaultRuntimeName":"runc"}})";
// containerd 1.7's: the setting is reported.
const char* kStatus17 =
    R"({"containerd":{"snapshotter":"nix","disableSnapshotAnnotations":false}})";
const char* kDump2 = R"(version = 3
[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'nix'
    disable_snapshot_annotations = false
)";

grpc::Status unreachable() { return {grpc::StatusCode::UNAVAILABLE, "connect failed"}; }

// The check against a mocked CRI and config source, its waits on a FakeSleeper.
class BackendCheckTest : public ::testing::Test {
 protected:
  BackendCheckDeps deps() { return {backend_, source_, clock_, sleeper_}; }

  void answerVersion() {
    EXPECT_CALL(backend_->runtime_stub, Version(_, _, _))
        .WillOnce(
            Invoke([](grpc::ClientContext*, const v1::VersionRequest&, v1::VersionResponse* resp) {
              resp->set_runtime_version("v2.1.9");
              return grpc::Status::OK;
            }))
        .RetiresOnSaturation();
  }
  void answerStatus(const std::string& config_json) {
    EXPECT_CALL(backend_->runtime_stub, Status(_, _, _))
        .WillOnce(Invoke([config_json](grpc::ClientContext*, const v1::StatusRequest&,
                                       v1::StatusResponse* resp) {
          (*resp->mutable_info())["config"] = config_json;
          return grpc::Status::OK;
        }));
  }
  milliseconds waited() const {
    return std::chrono::duration_cast<milliseconds>(clock_->now() - start_);
  }

  std::shared_ptr<cri::testing::MockCriBackend> backend_ =
      std::make_shared<cri::testing::MockCriBackend>();
  std::shared_ptr<StrictMock<testing::MockContainerdConfigSource>> source_ =
      std::make_shared<StrictMock<testing::MockContainerdConfigSource>>();
  std::shared_ptr<testing::ManualClock> clock_ = std::make_shared<testing::ManualClock>();
  std::shared_ptr<testing::FakeSleeper> sleeper_ = std::make_shared<testing::FakeSleeper>(clock_);
  std::chrono::system_clock::time_point start_ = clock_->now();
};

TEST_F(BackendCheckTest, Containerd2StatusWithoutTheSettingReadsTheEffectiveConfig) {
  answerVersion();
  answerStatus(kStatus2);
  EXPECT_CALL(*source_, effectiveConfig()).WillOnce(Return(Result<std::string>(kDump2)));
  BackendCheck(deps()).run();
  EXPECT_EQ(sleeper_->sleeps(), 0);
}

TEST_F(BackendCheckTest, StatusWithTheSettingLeavesTheConfigAlone) {
  answerVersion();
  answerStatus(kStatus17);  // StrictMock source: a call would fail the test
  BackendCheck(deps()).run();
}

TEST_F(BackendCheckTest, UnreadableConfigIsOnlyLogged) {
  answerVersion();
  answerStatus(kStatus2);
  EXPECT_CALL(*source_, effectiveConfig())
      .WillOnce(Return(Result<std::string>(Status(ErrorCode::FailedPrecondition, "other ns"))));
  BackendCheck(deps()).run();
}

TEST_F(BackendCheckTest, RetriesWithDoublingWaitsCappedAtTenSecondsUntilCriAnswers) {
  {
    ::testing::InSequence seq;
    EXPECT_CALL(backend_->runtime_stub, Version(_, _, _))
        .Times(8)
        .WillRepeatedly(Return(unreachable()));
    answerVersion();
  }
  answerStatus(kStatus17);
  BackendCheck(deps()).run();
  EXPECT_EQ(sleeper_->sleeps(), 8);
  // 200 + 400 + 800 + 1600 + 3200 + 6400, then 10000 twice.
  EXPECT_EQ(waited(), milliseconds(32600));
}

TEST_F(BackendCheckTest, StopEndsTheRetriesBeforeTheNextWait) {
  BackendCheck check(deps());
  int calls = 0;
  EXPECT_CALL(backend_->runtime_stub, Version(_, _, _))
      .Times(3)
      .WillRepeatedly(Invoke([&](auto*, auto&, auto*) {
        if (++calls == 3) {
          check.stop();
        }
        return unreachable();
      }));
  check.run();
  EXPECT_EQ(sleeper_->sleeps(), 2);
}

TEST_F(BackendCheckTest, StartRunsInTheBackgroundAndDestructionStopsIt) {
  std::promise<void> asked;
  std::atomic<bool> first = true;
  EXPECT_CALL(backend_->runtime_stub, Version(_, _, _))
      .WillRepeatedly(Invoke([&](auto*, auto&, auto*) {
        if (first.exchange(false)) {
          asked.set_value();
        }
        return unreachable();
      }));
  {
    BackendCheck check(deps());
    check.start();
    check.start();  // idempotent: one thread
    asked.get_future().wait();
  }  // stops and joins (a check that ignored stop() would hang here until ctest's timeout)
  EXPECT_TRUE(::testing::Mock::VerifyAndClearExpectations(&backend_->runtime_stub));
}

}  // namespace
}  // namespace nixsnap::cmd
