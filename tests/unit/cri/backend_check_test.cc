#include "cri/backend_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mocks/cri_mocks.h"

namespace nixsnap::cri {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;
namespace v1 = runtime::v1;

// Shape of containerd 1.7's verbose Status info["config"] (trimmed).
const char* kGoodConfig = R"({"containerd":{"snapshotter":"nix",
  "disableSnapshotAnnotations":false,"runtimes":{"runc":{"snapshotter":""}}}})";

TEST(BackendCheckTest, GoodSetupHasNoWarnings) {
  BackendFacts facts{"v1.7.24", {{"config", kGoodConfig}}};
  EXPECT_THAT(backendWarnings(facts, "nix"), ::testing::IsEmpty());
}

TEST(BackendCheckTest, WarnsWhenSnapshotAnnotationsAreDisabled) {
  BackendFacts facts{"v2.1.9", {{"config", R"({"containerd":{"snapshotter":"nix",
                        "disableSnapshotAnnotations":true}})"}}};
  auto warnings = backendWarnings(facts, "nix");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("disable_snapshot_annotations"));
}

TEST(BackendCheckTest, FindsTheSettingAnywhereInAnyInfoValue) {
  BackendFacts facts{
      "2.1.9",
      {{"config", "not json"}, {"imageConfig", R"({"x":[{"disableSnapshotAnnotations":true}]})"}}};
  EXPECT_EQ(backendWarnings(facts, "nix").size(), 1u);
}

TEST(BackendCheckTest, WarnsAboutContainerd16) {
  BackendFacts facts{"1.6.20~ds1", {{"config", kGoodConfig}}};
  auto warnings = backendWarnings(facts, "nix");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("Mount.target"));
}

TEST(BackendCheckTest, WarnsAboutAnotherSnapshotter) {
  BackendFacts facts{"v1.7.24", {{"config", R"({"containerd":{"snapshotter":"overlayfs"}})"}}};
  auto warnings = backendWarnings(facts, "nix");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("overlayfs"));
}

TEST(BackendCheckTest, TellsWhetherTheSettingIsReported) {
  EXPECT_TRUE(reportsSnapshotAnnotations(BackendFacts{"v1.7.24", {{"config", kGoodConfig}}}));
  // containerd 2.x: runtime config only.
  EXPECT_FALSE(reportsSnapshotAnnotations(
      BackendFacts{"2.1.9", {{"config", R"({"containerd":{"defaultRuntimeName":"runc"}})"}}}));
}

TEST(BackendCheckTest, QueryAsksVersionAndVerboseStatus) {
  testing::MockCriBackend backend;
  ::nixsnap::testing::ManualClock clock;
  EXPECT_CALL(backend.runtime_stub, Version(_, _, _))
      .WillOnce(Invoke(
          [&clock](grpc::ClientContext* ctx, const v1::VersionRequest&, v1::VersionResponse* resp) {
            // Each call's deadline counts from the injected clock.
            EXPECT_EQ(ctx->deadline(), clock.now() + std::chrono::seconds(5));
            resp->set_runtime_version("v1.7.24");
            return grpc::Status::OK;
          }));
  EXPECT_CALL(backend.runtime_stub, Status(_, _, _))
      .WillOnce(
          Invoke([](grpc::ClientContext*, const v1::StatusRequest& req, v1::StatusResponse* resp) {
            EXPECT_TRUE(req.verbose());
            (*resp->mutable_info())["config"] = kGoodConfig;
            return grpc::Status::OK;
          }));
  auto facts = queryBackend(backend, clock);
  ASSERT_TRUE(facts.isOk()) << facts.status().message();
  EXPECT_EQ(facts->runtime_version, "v1.7.24");
  EXPECT_EQ(facts->info.at("config"), kGoodConfig);
}

TEST(BackendCheckTest, QueryOfUnreachableContainerdIsUnavailableNamingIt) {
  testing::MockCriBackend backend("unix:///tmp/nowhere.sock");
  EXPECT_CALL(backend.runtime_stub, Version(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed")));
  auto facts = queryBackend(backend, ::nixsnap::testing::ManualClock());
  ASSERT_FALSE(facts.isOk());
  EXPECT_EQ(facts.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(facts.status().message(), HasSubstr("/tmp/nowhere.sock"));
}

}  // namespace
}  // namespace nixsnap::cri
