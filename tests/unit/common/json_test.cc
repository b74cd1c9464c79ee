#include "common/json.h"

#include <gtest/gtest.h>

#include <string>

namespace nixsnap {
namespace {

std::string nestedArrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseJsonTest, ParsesADocument) {
  auto r = parseJson(R"({"a":[1,{"b":"c"}]})", "test document");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ((*r)["a"][1]["b"], "c");
}

TEST(ParseJsonTest, MalformedTextNamesTheDocumentAndPosition) {
  auto r = parseJson(R"({"a":)", "image manifest");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("parsing image manifest: "), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("column 6"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("json.exception"), std::string::npos)
      << "the library's tag leaks: " << r.status().message();
}

TEST(ParseJsonTest, ErrorTextDropsTheLibrarysTag) {
  try {
    nlohmann::json j = 5;
    (void)j.get<std::string>();
    FAIL() << "no type error";
  } catch (const nlohmann::json::exception& e) {
    EXPECT_EQ(jsonErrorText(e), "type must be string, but is number");
  }
}

TEST(ParseJsonTest, DepthLimitIsExact) {
  // The root container is level 1: max_depth levels pass, one more does not.
  EXPECT_TRUE(parseJson(nestedArrays(4), "doc", 4).isOk());
  auto r = parseJson(nestedArrays(5), "doc", 4);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(r.status().message(), "parsing doc: nested deeper than 4 levels");
  auto objects = parseJson(R"({"a":{"b":{"c":{"d":{}}}}})", "doc", 4);
  EXPECT_FALSE(objects.isOk());
}

TEST(ParseJsonTest, HostileNestingIsAnErrorNotACrash) {
  auto r = parseJson(nestedArrays(1000000), "image config");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find(std::to_string(kMaxJsonDepth)), std::string::npos);
  EXPECT_TRUE(parseJson(nestedArrays(kMaxJsonDepth), "image config").isOk());
}

}  // namespace
}  // namespace nixsnap
