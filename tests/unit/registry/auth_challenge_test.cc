#include "registry/auth_challenge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nixsnap::registry {
namespace {

using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(AuthChallengeTest, BearerWithQuotedParametersKeepsCommasInsideQuotes) {
  auto c =
      parseAuthChallenges(R"(Bearer realm="https://auth.example.org/token",service="registry",)"
                          R"(scope="repository:team/app:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_THAT(c[0].params, UnorderedElementsAre(Pair("realm", "https://auth.example.org/token"),
                                                Pair("service", "registry"),
                                                Pair("scope", "repository:team/app:pull,push")));
}

TEST(AuthChallengeTest, SchemeAndParameterNamesAreCaseInsensitive) {
  auto c = parseAuthChallenges(R"(BASIC Realm="Registry Realm")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_THAT(c[0].params, UnorderedElementsAre(Pair("realm", "Registry Realm")));
}

TEST(AuthChallengeTest, SeveralChallengesInOneHeader) {
  auto c = parseAuthChallenges(
      R"(Negotiate, Basic realm="r", charset="UTF-8" , Bearer realm="https://t/x", service=s)");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].scheme, "negotiate");
  EXPECT_TRUE(c[0].params.empty());
  EXPECT_EQ(c[1].scheme, "basic");
  EXPECT_THAT(c[1].params, UnorderedElementsAre(Pair("realm", "r"), Pair("charset", "UTF-8")));
  EXPECT_EQ(c[2].scheme, "bearer");
  EXPECT_THAT(c[2].params,
              UnorderedElementsAre(Pair("realm", "https://t/x"), Pair("service", "s")));
}

TEST(AuthChallengeTest, EscapedQuotesAndToken68) {
  auto c = parseAuthChallenges(R"(Basic realm="a \"quoted\" realm", Custom abcDEF123)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].params.at("realm"), R"(a "quoted" realm)");
  EXPECT_EQ(c[1].scheme, "custom");
  EXPECT_TRUE(c[1].params.empty());
}

TEST(AuthChallengeTest, HostileHeadersYieldWhatParsedSafely) {
  EXPECT_TRUE(parseAuthChallenges("").empty());
  EXPECT_TRUE(parseAuthChallenges("   ,  ,").empty());
  EXPECT_TRUE(parseAuthChallenges("=x").empty());
  // Unterminated quote: the challenge is kept without the broken parameter.
  auto c = parseAuthChallenges(R"(Bearer service="s", realm="https://never-closed)");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_THAT(c[0].params, UnorderedElementsAre(Pair("service", "s")));
  // Oversized header: ignored whole.
  EXPECT_TRUE(parseAuthChallenges("Basic realm=\"" + std::string(9000, 'x') + "\"").empty());
  // Parameter flood: capped at 32.
  std::string many = "Bearer ";
  for (int i = 0; i < 500; ++i) {
    many += "p" + std::to_string(i) + "=v,";
  }
  auto flood = parseAuthChallenges(many);
  ASSERT_EQ(flood.size(), 1u);
  EXPECT_EQ(flood[0].params.size(), 32u);
}

}  // namespace
}  // namespace nixsnap::registry
