#include "snapshotter/filter.h"

#include <gtest/gtest.h>

namespace nixsnap::testing {
namespace {

using snapshotter::Filter;
using snapshotter::Info;
using snapshotter::Kind;

Info info(const std::string& name, Kind kind, const std::string& parent,
          snapshotter::Labels labels = {}) {
  Info i;
  i.name = name;
  i.kind = kind;
  i.parent = parent;
  i.labels = std::move(labels);
  return i;
}

bool matches(const std::vector<std::string>& filters, const Info& i) {
  auto f = Filter::parse(filters);
  EXPECT_TRUE(f.isOk()) << f.status().toString();
  return f.isOk() && f->match(i);
}

const Info kA = info("a", Kind::Active, "base", {{"x", "1"}, {"dotted.key", "v"}});

TEST(FilterTest, EmptyMatchesEverything) {
  EXPECT_TRUE(matches({}, kA));
  EXPECT_TRUE(matches({""}, kA));
}

TEST(FilterTest, EqualityOnFields) {
  EXPECT_TRUE(matches({"name==a"}, kA));
  EXPECT_FALSE(matches({"name==b"}, kA));
  EXPECT_TRUE(matches({"parent==base"}, kA));
  EXPECT_TRUE(matches({"kind==active"}, kA));
  EXPECT_FALSE(matches({"kind==Active"}, kA));
  EXPECT_TRUE(matches({"kind==view"}, info("v", Kind::View, "")));
  EXPECT_TRUE(matches({"kind==committed"}, info("c", Kind::Committed, "")));
}

TEST(FilterTest, NotEqualMatchesAbsentFields) {
  EXPECT_TRUE(matches({"name!=b"}, kA));
  EXPECT_FALSE(matches({"name!=a"}, kA));
  EXPECT_TRUE(matches({"labels.missing!=1"}, kA));
  EXPECT_FALSE(matches({"labels.missing==1"}, kA));
}

TEST(FilterTest, LabelsQuotedAndDotted) {
  EXPECT_TRUE(matches({"labels.x==1"}, kA));
  EXPECT_TRUE(matches({"labels.\"x\"==1"}, kA));
  EXPECT_TRUE(matches({"labels.\"dotted.key\"==v"}, kA));
  EXPECT_TRUE(matches({"labels.dotted.key==v"}, kA));
  EXPECT_TRUE(matches({"labels.\"containerd.io/snapshot/nix-layer\""},
                      info("n", Kind::Active, "", {{"containerd.io/snapshot/nix-layer", "true"}})));
}

TEST(FilterTest, PresenceWithoutOperator) {
  EXPECT_TRUE(matches({"labels.x"}, kA));
  EXPECT_FALSE(matches({"labels.y"}, kA));
  EXPECT_FALSE(matches({"labels.x"}, info("n", Kind::Active, "")));
  EXPECT_TRUE(matches({"parent"}, kA));
}

TEST(FilterTest, CommaIsAndSeveralFiltersAreOr) {
  EXPECT_TRUE(matches({"name==a,kind==active"}, kA));
  EXPECT_FALSE(matches({"name==a,kind==view"}, kA));
  EXPECT_TRUE(matches({"name==b", "kind==active"}, kA));
  EXPECT_FALSE(matches({"name==b", "kind==view"}, kA));
  EXPECT_TRUE(matches({"name==a , kind==active"}, kA));
}

TEST(FilterTest, QuotedValues) {
  Info i = info("with space", Kind::Active, "", {{"q", "a,b"}});
  EXPECT_TRUE(matches({"name==\"with space\""}, i));
  EXPECT_TRUE(matches({"labels.q==\"a,b\""}, i));
  Info e = info("e", Kind::Active, "", {{"q", "say \"hi\""}});
  EXPECT_TRUE(matches({"labels.q==\"say \\\"hi\\\"\""}, e));
}

TEST(FilterTest, RegexOperator) {
  EXPECT_TRUE(matches({"name~=^a$"}, kA));
  EXPECT_TRUE(matches({"labels.x~=/[0-9]+/"}, kA));
  EXPECT_FALSE(matches({"name~=^b"}, kA));
}

TEST(FilterTest, RegexUsesGoSyntax) {
  // Go's regexp (RE2) flags and classes, which ECMAScript regexes lack.
  snapshotter::Info a = info("a", Kind::Active, "", {{"x", "ABC"}});
  EXPECT_TRUE(matches({"labels.x~=(?i)^abc$"}, a));
  EXPECT_TRUE(matches({"labels.x~=^[[:upper:]]+$"}, a));
  EXPECT_TRUE(matches({"labels.x~=\\pL"}, a));
  EXPECT_FALSE(matches({"labels.x~=^abc$"}, a));
  // Backreferences are not RE2: a syntax error, as in containerd.
  EXPECT_EQ(Filter::parse({"labels.x~=(a)\\1"}).status().code(), ErrorCode::InvalidArgument);
}

TEST(FilterTest, RegexRunsInLinearTimeOnHostileInput) {
  // Both used to explode in a backtracking engine (stack overflow / exponential time);
  // under RE2 each is one pass over the input. ctest's timeout is the guard here.
  snapshotter::Info big;
  big.name = "big";
  big.labels["big"] = std::string(100000, 'x');
  auto f = snapshotter::Filter::parse({"labels.big~=.*"});
  ASSERT_TRUE(f.isOk());
  EXPECT_TRUE(f->match(big));
  for (std::string pattern : {"(x*)*y", "(x+x+)+y", "(.*){1,30}y", "^(x|xx)+$y"}) {
    auto g = snapshotter::Filter::parse({"labels.big~=/" + pattern + "/"});
    ASSERT_TRUE(g.isOk()) << pattern << ": " << g.status().toString();
    EXPECT_FALSE(g->match(big)) << pattern;
  }
  auto p = snapshotter::Filter::parse(
      {"name~=" + std::string(snapshotter::kMaxRegexPatternLength + 1, 'a')});
  EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument);
  EXPECT_TRUE(
      snapshotter::Filter::parse({"name~=" + std::string(snapshotter::kMaxRegexPatternLength, 'a')})
          .isOk());
}

TEST(FilterTest, OneRequestsWorkIsBounded) {
  // Review finding: 1,000 copies of an expensive pattern kept a core busy for minutes.
  std::string expensive = "labels.none~=(?:\\pL|\\pN){300}y";
  auto big = Filter::parse({expensive});
  EXPECT_EQ(big.status().code(), ErrorCode::InvalidArgument);  // over RE2's memory bound
  std::string many;
  for (size_t i = 0; i <= snapshotter::kMaxRegexes; ++i) {
    many += (i ? "," : "") + std::string("name~=^a") + std::to_string(i);
  }
  auto r = Filter::parse({many});
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("regular expressions"), std::string::npos);
  // The bound is per request, across filter strings.
  std::vector<std::string> split(snapshotter::kMaxRegexes + 1, "name~=^a");
  EXPECT_EQ(Filter::parse(split).status().code(), ErrorCode::InvalidArgument);
  split.pop_back();
  EXPECT_TRUE(Filter::parse(split).isOk());
  std::vector<std::string> selectors(snapshotter::kMaxSelectors + 1, "name==a");
  EXPECT_EQ(Filter::parse(selectors).status().code(), ErrorCode::InvalidArgument);
}

TEST(FilterTest, SyntaxErrorsAreInvalidArgument) {
  for (std::string bad : {"name==", "==a", "name=a", "name==a,", "labels.\"open", "1name==a",
                          "name==a b", "name~=(", ","}) {
    auto f = Filter::parse({bad});
    EXPECT_EQ(f.status().code(), ErrorCode::InvalidArgument) << bad;
    if (!f.isOk()) {
      EXPECT_NE(f.status().message().find(bad), std::string::npos) << f.status().message();
    }
  }
}

TEST(FilterTest, UnknownFieldNeverMatchesEquality) {
  EXPECT_FALSE(matches({"size==1"}, kA));
  EXPECT_TRUE(matches({"size!=1"}, kA));
}

}  // namespace
}  // namespace nixsnap::testing
