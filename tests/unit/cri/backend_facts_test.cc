#include "cri/backend_facts.h"

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

const char* kConfig = R"({"containerd":{"snapshotter":"nix","disableSnapshotAnnotations":false}})";

TEST(BackendFactsTest, QueryAsksVersionAndVerboseStatus) {
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
            (*resp->mutable_info())["config"] = kConfig;
            return grpc::Status::OK;
          }));
  auto facts = queryBackend(backend, clock);
  ASSERT_TRUE(facts.isOk()) << facts.status().message();
  EXPECT_EQ(facts->runtime_version, "v1.7.24");
  EXPECT_EQ(facts->info.at("config"), kConfig);
}

TEST(BackendFactsTest, QueryOfUnreachableContainerdIsUnavailableNamingIt) {
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
