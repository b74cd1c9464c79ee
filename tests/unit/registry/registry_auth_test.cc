#include "registry/registry_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mocks/registry_mocks.h"

namespace nixsnap::registry {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Return;
using ::testing::StrictMock;

HttpResponse challenge(const std::string& www_authenticate) {
  HttpResponse r;
  r.status = 401;
  r.headers.emplace_back("www-authenticate", www_authenticate);
  return r;
}

HttpResponse ok(const std::string& body) {
  HttpResponse r;
  r.status = 200;
  r.body = body;
  return r;
}

class RegistryAuthTest : public ::testing::Test {
 protected:
  RegistryAuth auth(const std::string& origin = "https://reg.example.org") {
    return RegistryAuth(transport_, credentials_, origin, "reg.example.org", "team/app");
  }
  void configured(std::optional<Credentials> c) {
    EXPECT_CALL(*credentials_, lookup("reg.example.org")).WillRepeatedly(Return(c));
  }
  void configuredOnce(std::optional<Credentials> c) {
    EXPECT_CALL(*credentials_, lookup("reg.example.org")).WillOnce(Return(c));
  }
  std::shared_ptr<StrictMock<testing::MockHttpTransport>> transport_ =
      std::make_shared<StrictMock<testing::MockHttpTransport>>();
  std::shared_ptr<StrictMock<testing::MockCredentialSource>> credentials_ =
      std::make_shared<StrictMock<testing::MockCredentialSource>>();
};

TEST(RegistryAuthHelpersTest, BasicAuthorizationIsBase64OfUserColonSecret) {
  EXPECT_EQ(basicAuthorization("Aladdin", "open sesame"),
            "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617 §2
  EXPECT_EQ(basicAuthorization("", ""), "Authorization: Basic Og==");
}

TEST(RegistryAuthHelpersTest, PercentEncodeLeavesOnlyUnreserved) {
  EXPECT_EQ(percentEncode("repository:team/app:pull,push"),
            "repository%3Ateam%2Fapp%3Apull%2Cpush");
  EXPECT_EQ(percentEncode("a-b.c_d~e f&g=h"), "a-b.c_d~e%20f%26g%3Dh");
}

TEST(RegistryAuthHelpersTest, TokenResponse) {
  EXPECT_EQ(*parseTokenResponse(R"({"token":"abc.def","expires_in":300})"), "abc.def");
  EXPECT_EQ(*parseTokenResponse(R"({"access_token":"xyz"})"), "xyz");
  EXPECT_EQ(*parseTokenResponse(R"({"token":"","access_token":"xyz"})"), "xyz");
  for (const std::string& bad :
       {std::string("nope"), std::string("{}"), std::string(R"({"token":42})"),
        std::string(R"({"token":"a b"})"), std::string(R"({"token":"a\r\nX-Evil: 1"})"),
        R"({"token":")" + std::string(70000, 'a') + "\"}"}) {
    EXPECT_EQ(parseTokenResponse(bad).status().code(), ErrorCode::InvalidArgument) << bad;
  }
}

TEST_F(RegistryAuthTest, BearerTokenIsFetchedWithBasicCredentialsForThePushScope) {
  configured(Credentials{"bot", "pw", false});
  auto a = auth();
  EXPECT_CALL(
      *transport_,
      perform(AllOf(Field(&HttpRequest::method, "GET"),
                    Field(&HttpRequest::url,
                          "https://auth.example.org/token?service=reg%20one&scope="
                          "repository%3Ateam%2Fapp%3Apull%2Cpush"),
                    Field(&HttpRequest::headers, Contains(basicAuthorization("bot", "pw"))))))
      .WillOnce(Return(ok(R"({"token":"T1"})")));
  ASSERT_TRUE(
      a.answer(challenge(R"(Bearer realm="https://auth.example.org/token",service="reg one")"))
          .isOk());
  EXPECT_EQ(a.header(), "Authorization: Bearer T1");
}

TEST_F(RegistryAuthTest, AnonymousTokenWhenNothingIsConfigured) {
  configured(std::nullopt);
  auto a = auth();
  EXPECT_CALL(*transport_, perform(Field(&HttpRequest::headers, ::testing::IsEmpty())))
      .WillOnce(Return(ok(R"({"access_token":"anon"})")));
  ASSERT_TRUE(a.answer(challenge(R"(Bearer realm="https://a.example.org/t?x=1")")).isOk());
  EXPECT_EQ(a.header(), "Authorization: Bearer anon");
}

TEST_F(RegistryAuthTest, IdentityTokenIsExchangedWithARefreshTokenGrant) {
  configured(Credentials{"<token>", "refresh-1", true});
  auto a = auth();
  EXPECT_CALL(*transport_,
              perform(AllOf(Field(&HttpRequest::method, "POST"),
                            Field(&HttpRequest::url, "https://auth.example.org/token"),
                            Field(&HttpRequest::body, HasSubstr("grant_type=refresh_token")),
                            Field(&HttpRequest::body, HasSubstr("refresh_token=refresh-1")),
                            Field(&HttpRequest::body,
                                  HasSubstr("scope=repository%3Ateam%2Fapp%3Apull%2Cpush")))))
      .WillOnce(Return(ok(R"({"access_token":"A"})")));
  ASSERT_TRUE(a.answer(challenge(R"(Bearer realm="https://auth.example.org/token")")).isOk());
  EXPECT_EQ(a.header(), "Authorization: Bearer A");
}

TEST_F(RegistryAuthTest, RefusedTokenIsPermissionDeniedWithoutTheSecret) {
  configured(Credentials{"bot", "hunter2", false});
  auto a = auth();
  HttpResponse denied;
  denied.status = 401;
  denied.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"bad \u0007 password"}]})";
  EXPECT_CALL(*transport_, perform(_)).WillOnce(Return(denied));
  Status st = a.answer(challenge(R"(Bearer realm="https://auth.example.org/token")"));
  EXPECT_EQ(st.code(), ErrorCode::PermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("HTTP 401"));
  EXPECT_THAT(st.message(), HasSubstr("reg.example.org"));
  EXPECT_THAT(st.message(), HasSubstr("bad ? password"));
  EXPECT_THAT(st.message(), Not(HasSubstr("hunter2")));
  EXPECT_TRUE(a.header().empty());
}

TEST_F(RegistryAuthTest, RealmMustBeHttpAndNeverDowngradeFromHttps) {
  configured(Credentials{"bot", "pw", false});
  for (const char* realm :
       {"file:///etc/passwd", "ftp://a/b", "/token", "http://auth/token", "https://a/t x", "",
        "https://a/t\x1b[2K", "https://reg.example.org@evil.example.net/t"}) {
    auto a = auth();
    Status st = a.answer(challenge(std::string("Bearer realm=\"") + realm + "\""));
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << realm;
  }
  // A plain-http registry may use a plain-http token server.
  auto plain = auth("http://reg.example.org");
  EXPECT_CALL(*transport_, perform(Field(&HttpRequest::url, HasSubstr("http://auth/token?"))))
      .WillOnce(Return(ok(R"({"token":"P"})")));
  EXPECT_TRUE(plain.answer(challenge(R"(Bearer realm="http://auth/token")")).isOk());
}

TEST_F(RegistryAuthTest, BasicChallengeUsesTheConfiguredUserOnce) {
  configuredOnce(Credentials{"bot", "pw", false});  // a helper runs once per push
  auto a = auth();
  ASSERT_TRUE(a.answer(challenge(R"(Basic realm="Registry")")).isOk());
  EXPECT_EQ(a.header(), basicAuthorization("bot", "pw"));
  // Refused again with the same credentials: no point retrying.
  Status st = a.answer(challenge(R"(Basic realm="Registry")"));
  EXPECT_EQ(st.code(), ErrorCode::PermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("configured user and password"));
}

TEST_F(RegistryAuthTest, BasicChallengeWithoutCredentialsOrChallengeIsPermissionDenied) {
  configured(std::nullopt);
  auto a = auth();
  Status st = a.answer(challenge(R"(Basic realm="Registry")"));
  EXPECT_EQ(st.code(), ErrorCode::PermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("--authfile"));
  HttpResponse bare;
  bare.status = 401;
  EXPECT_EQ(a.answer(bare).code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(a.answer(challenge("Negotiate")).code(), ErrorCode::PermissionDenied);
}

}  // namespace
}  // namespace nixsnap::registry
