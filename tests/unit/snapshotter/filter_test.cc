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

TEST(FilterTest, RegexIsBoundedInInputAndPatternLength) {
  snapshotter::Info big;
  big.name = "big";
  big.labels["big"] = std::string(100000, 'x');
  auto f = snapshotter::Filter::parse({"labels.big~=.*"});
  ASSERT_TRUE(f.isOk());
  EXPECT_FALSE(f->match(big));  // used to overflow the stack
  big.labels["big"] = std::string(snapshotter::kMaxRegexInputLength, 'x');
  EXPECT_TRUE(f->match(big));
  auto p = snapshotter::Filter::parse({"name~=" + std::string(2000, 'a')});
  EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument);
}

TEST(FilterTest, SyntaxErrorsAreInvalidArgument) {
  for (const std::string& bad :
       {"name==", "==a", "name=a", "name==a,", "labels.\"open", "1name==a", "name==a b",
        "name~=(", ","}) {
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
