#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mocks/registry_mocks.h"
#include "registry/client.h"
#include "registry/registry_auth.h"

namespace nixsnap::registry {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Return;
using ::testing::StartsWith;
using ::testing::StrictMock;

HttpResponse reply(long status, std::vector<std::pair<std::string, std::string>> headers = {},
                   std::string body = "") {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

auto request(const std::string& method, const std::string& url) {
  return AllOf(Field(&HttpRequest::method, method), Field(&HttpRequest::url, url));
}

const Reference kRef{"reg.example.org", "team/app", "1", {}};
constexpr const char* kBase = "https://reg.example.org/v2/team/app";
constexpr const char* kDigest = "sha256:aaaa";

class HttpRegistryClientTest : public ::testing::Test {
 protected:
  RegistryClientPtr client(bool plain_http = false) {
    return makeRegistryClient(transport_, credentials_, plain_http);
  }
  std::shared_ptr<StrictMock<testing::MockHttpTransport>> transport_ =
      std::make_shared<StrictMock<testing::MockHttpTransport>>();
  std::shared_ptr<StrictMock<testing::MockCredentialSource>> credentials_ =
      std::make_shared<StrictMock<testing::MockCredentialSource>>();
};

TEST_F(HttpRegistryClientTest, AnonymousRegistryGetsNoAuthorization) {
  InSequence seq;
  EXPECT_CALL(*transport_, perform(request("GET", "https://reg.example.org/v2/")))
      .WillOnce(Return(reply(200)));
  EXPECT_CALL(*transport_, perform(AllOf(request("HEAD", std::string(kBase) + "/blobs/" + kDigest),
                                         Field(&HttpRequest::headers, IsEmpty()))))
      .WillOnce(Return(reply(404)));
  EXPECT_CALL(*transport_, perform(request("HEAD", std::string(kBase) + "/blobs/sha256:bbbb")))
      .WillOnce(Return(reply(200)));
  auto c = client();
  EXPECT_FALSE(*c->hasBlob(kRef, kDigest));
  EXPECT_TRUE(*c->hasBlob(kRef, "sha256:bbbb"));  // pinged once per repository
}

TEST_F(HttpRegistryClientTest, BearerFlowPingsGetsATokenAndSendsItToTheRegistryOnly) {
  EXPECT_CALL(*credentials_, lookup("reg.example.org"))
      .WillRepeatedly(Return(std::optional<Credentials>(Credentials{"bot", "pw", false})));
  const std::string bearer = "Authorization: Bearer T1";
  InSequence seq;
  EXPECT_CALL(*transport_, perform(request("GET", "https://reg.example.org/v2/")))
      .WillOnce(Return(reply(401, {{"www-authenticate",
                                    R"(Bearer realm="https://auth.example.org/t",service="r")"}})));
  EXPECT_CALL(*transport_,
              perform(Field(&HttpRequest::url, StartsWith("https://auth.example.org/t?"))))
      .WillOnce(Return(reply(200, {}, R"({"token":"T1"})")));
  EXPECT_CALL(*transport_, perform(AllOf(request("POST", std::string(kBase) + "/blobs/uploads/"),
                                         Field(&HttpRequest::headers, Contains(bearer)))))
      .WillOnce(Return(reply(202, {{"location", "https://storage.example.net/up/1?sig=x"}})));
  // The upload goes to another host (object storage): it must not carry the token.
  EXPECT_CALL(
      *transport_,
      perform(AllOf(
          request("PUT", std::string("https://storage.example.net/up/1?sig=x&digest=") + kDigest),
          Field(&HttpRequest::headers, Not(Contains(bearer))),
          Field(&HttpRequest::body_file, fs::path("/blob")))))
      .WillOnce(Return(reply(201)));
  EXPECT_CALL(*transport_, perform(AllOf(request("PUT", std::string(kBase) + "/manifests/1"),
                                         Field(&HttpRequest::headers, Contains(bearer)),
                                         Field(&HttpRequest::body, "{}"))))
      .WillOnce(Return(reply(201)));
  auto c = client();
  ASSERT_TRUE(c->uploadBlob(kRef, kDigest, "/blob").isOk());
  ASSERT_TRUE(c->putManifest(kRef, "application/vnd.oci.image.manifest.v1+json", "{}").isOk());
}

TEST_F(HttpRegistryClientTest, ExpiredTokenIsRenewedOnceThenTheRequestRepeats) {
  EXPECT_CALL(*credentials_, lookup(_)).WillRepeatedly(Return(std::optional<Credentials>()));
  const auto challenge = std::vector<std::pair<std::string, std::string>>{
      {"www-authenticate", R"(Bearer realm="https://a/t")"}};
  InSequence seq;
  EXPECT_CALL(*transport_, perform(request("GET", "https://reg.example.org/v2/")))
      .WillOnce(Return(reply(401, challenge)));
  EXPECT_CALL(*transport_, perform(Field(&HttpRequest::url, StartsWith("https://a/t?"))))
      .WillOnce(Return(reply(200, {}, R"({"token":"old"})")));
  EXPECT_CALL(*transport_, perform(request("HEAD", std::string(kBase) + "/blobs/" + kDigest)))
      .WillOnce(Return(reply(401, challenge)));
  EXPECT_CALL(*transport_, perform(Field(&HttpRequest::url, StartsWith("https://a/t?"))))
      .WillOnce(Return(reply(200, {}, R"({"token":"new"})")));
  EXPECT_CALL(*transport_,
              perform(AllOf(request("HEAD", std::string(kBase) + "/blobs/" + kDigest),
                            Field(&HttpRequest::headers,
                                  ::testing::ElementsAre("Authorization: Bearer new")))))
      .WillOnce(Return(reply(200)));
  EXPECT_TRUE(*client()->hasBlob(kRef, kDigest));
}

TEST_F(HttpRegistryClientTest, StillUnauthorizedAfterRenewingIsPermissionDenied) {
  EXPECT_CALL(*credentials_, lookup(_))
      .WillRepeatedly(Return(std::optional<Credentials>(Credentials{"bot", "pw", false})));
  const auto basic =
      std::vector<std::pair<std::string, std::string>>{{"www-authenticate", R"(Basic realm="r")"}};
  InSequence seq;
  EXPECT_CALL(*transport_, perform(request("GET", "https://reg.example.org/v2/")))
      .WillOnce(Return(reply(200)));  // /v2/ open, repositories protected
  EXPECT_CALL(
      *transport_,
      perform(AllOf(request("PUT", std::string(kBase) + "/manifests/1"),
                    Field(&HttpRequest::headers, Not(Contains(HasSubstr("Authorization")))))))
      .WillOnce(Return(reply(401, basic)));
  EXPECT_CALL(
      *transport_,
      perform(AllOf(request("PUT", std::string(kBase) + "/manifests/1"),
                    Field(&HttpRequest::headers, Contains(basicAuthorization("bot", "pw"))))))
      .WillOnce(Return(reply(401, basic, R"({"errors":[{"message":"authentication required"}]})")));
  Status st = client()->putManifest(kRef, "m", "{}");
  EXPECT_EQ(st.code(), ErrorCode::PermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("HTTP 401 unauthorized"));
  EXPECT_THAT(st.message(), HasSubstr("authentication required"));
  EXPECT_THAT(st.message(), Not(HasSubstr("pw")));
}

TEST_F(HttpRegistryClientTest, ForbiddenIsPermissionDeniedOtherStatusesInternal) {
  InSequence seq;
  EXPECT_CALL(*transport_, perform(request("GET", "http://reg.example.org/v2/")))
      .WillOnce(Return(reply(200)));
  EXPECT_CALL(*transport_, perform(_)).WillOnce(Return(reply(403)));
  EXPECT_CALL(*transport_, perform(_)).WillOnce(Return(reply(500)));
  auto c = client(/*plain_http=*/true);
  EXPECT_EQ(c->hasBlob(kRef, kDigest).status().code(), ErrorCode::PermissionDenied);
  Status st = c->putManifest(kRef, "m", "{}");
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_THAT(st.message(), HasSubstr("HTTP 500"));
}

TEST_F(HttpRegistryClientTest, UnreachableRegistryIsUnavailable) {
  EXPECT_CALL(*transport_, perform(_))
      .WillOnce(Return(Status(ErrorCode::Unavailable, "GET https://reg.example.org/v2/: refused")));
  EXPECT_EQ(client()->hasBlob(kRef, kDigest).status().code(), ErrorCode::Unavailable);
}

TEST_F(HttpRegistryClientTest, HostileUploadLocationIsRefusedBeforeAnyUpload) {
  InSequence seq;
  EXPECT_CALL(*transport_, perform(request("GET", "https://reg.example.org/v2/")))
      .WillOnce(Return(reply(200)));
  EXPECT_CALL(*transport_, perform(request("POST", std::string(kBase) + "/blobs/uploads/")))
      .WillOnce(Return(reply(202, {{"location", "file:///etc/shadow"}})));
  Status st = client()->uploadBlob(kRef, kDigest, "/blob");
  EXPECT_EQ(st.code(), ErrorCode::Internal);
  EXPECT_THAT(st.message(), HasSubstr("file:///etc/shadow"));
}

TEST_F(HttpRegistryClientTest, LocalRegistriesAreSpokenToOverPlainHttpWithoutTheFlag) {
  for (const char* host : {"localhost:5000", "127.0.0.1:5000", "localhost"}) {
    const Reference ref{host, "app", "1", {}};
    const std::string origin = std::string("http://") + host;
    InSequence seq;
    EXPECT_CALL(*transport_, perform(request("GET", origin + "/v2/"))).WillOnce(Return(reply(200)));
    EXPECT_CALL(*transport_, perform(request("HEAD", origin + "/v2/app/blobs/" + kDigest)))
        .WillOnce(Return(reply(200)));
    EXPECT_TRUE(*client()->hasBlob(ref, kDigest)) << host;
  }
}

TEST_F(HttpRegistryClientTest, DockerHubIsPushedToItsRegistryHostWithDockerIoCredentials) {
  auto ref = parseReference("redis:7");
  ASSERT_TRUE(ref.isOk());
  const std::string base = "https://registry-1.docker.io/v2/library/redis";
  EXPECT_CALL(*credentials_, lookup("docker.io"))
      .WillOnce(Return(std::optional<Credentials>(Credentials{"me", "pw", false})));
  InSequence seq;
  EXPECT_CALL(*transport_, perform(request("GET", "https://registry-1.docker.io/v2/")))
      .WillOnce(Return(reply(
          401, {{"www-authenticate",
                 R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io")"}})));
  EXPECT_CALL(
      *transport_,
      perform(AllOf(Field(&HttpRequest::url,
                          StartsWith("https://auth.docker.io/token?service=registry.docker.io"
                                     "&scope=repository%3Alibrary%2Fredis%3Apull%2Cpush")),
                    Field(&HttpRequest::headers, Contains(StartsWith("Authorization: Basic "))))))
      .WillOnce(Return(reply(200, {}, R"({"token":"T"})")));
  EXPECT_CALL(*transport_,
              perform(AllOf(request("PUT", base + "/manifests/7"),
                            Field(&HttpRequest::headers, Contains("Authorization: Bearer T")))))
      .WillOnce(Return(reply(201)));
  EXPECT_TRUE(
      client()->putManifest(*ref, "application/vnd.oci.image.manifest.v1+json", "{}").isOk());
}

}  // namespace
}  // namespace nixsnap::registry
