#include "common/json_fields.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace nixsnap {
namespace {

using nlohmann::json;

TEST(JsonFieldsTest, PathsJoinMembersAndElements) {
  EXPECT_EQ(jsonMemberPath("", "manifests"), "manifests");
  EXPECT_EQ(jsonMemberPath(jsonElementPath("manifests", 0), "digest"), "manifests[0].digest");
  EXPECT_EQ(jsonMemberPath("manifest.json[0]", "Config"), "manifest.json[0].Config");
}

// Annotation keys come from the document: a 4 MiB key must not become a 4 MiB message.
TEST(JsonFieldsTest, LongKeyIsCutInThePath) {
  EXPECT_EQ(jsonMemberPath("annotations", std::string(1000, 'k')),
            "annotations." + std::string(64, 'k') + "...");
  EXPECT_EQ(jsonMemberPath("a", std::string(64, 'k')), "a." + std::string(64, 'k'));
}

TEST(JsonFieldsTest, TypeErrorNamesPathWantAndGot) {
  Status st = jsonTypeError("manifests[0].digest", "a string", json(5));
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(st.message(), "manifests[0].digest: expected a string, got number");
  EXPECT_EQ(jsonTypeError("", "an object", json::array()).message(),
            "expected an object, got array");
  EXPECT_TRUE(expectJsonObject(json::object(), "x").isOk());
  EXPECT_EQ(expectJsonObject(json(nullptr), "x").message(), "x: expected an object, got null");
}

TEST(JsonFieldsTest, StringReadsPresentValueKeepsOutWhenAbsentOrNull) {
  json obj = {{"a", "v"}, {"n", nullptr}, {"i", 1}};
  std::string out = "default";
  EXPECT_TRUE(readJsonString(obj, "a", "", false, out).isOk());
  EXPECT_EQ(out, "v");
  out = "default";
  EXPECT_TRUE(readJsonString(obj, "absent", "", false, out).isOk());
  EXPECT_TRUE(readJsonString(obj, "n", "", false, out).isOk());
  EXPECT_EQ(out, "default");
  EXPECT_EQ(readJsonString(obj, "n", "top", true, out).message(), "top.n: missing");
  EXPECT_EQ(readJsonString(obj, "i", "top", false, out).message(),
            "top.i: expected a string, got number");
  EXPECT_EQ(jsonMember(obj, "n"), nullptr);
  EXPECT_EQ(jsonMember(json::array(), "a"), nullptr);
}

TEST(JsonFieldsTest, StringListNamesTheBadElement) {
  json obj = {{"l", {"a", "b"}}, {"bad", {"a", 7}}, {"s", "a"}};
  std::vector<std::string> out;
  EXPECT_TRUE(readJsonStringList(obj, "l", "e", true, out).isOk());
  EXPECT_EQ(out, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(readJsonStringList(obj, "bad", "e", true, out).message(),
            "e.bad[1]: expected a string, got number");
  EXPECT_EQ(readJsonStringList(obj, "s", "e", true, out).message(),
            "e.s: expected a list of strings, got string");
  EXPECT_EQ(readJsonStringList(obj, "absent", "e", true, out).message(), "e.absent: missing");
  out = {"kept"};
  EXPECT_TRUE(readJsonStringList(obj, "absent", "e", false, out).isOk());
  EXPECT_EQ(out, std::vector<std::string>{"kept"});
}

TEST(JsonFieldsTest, StringMapNamesTheBadMember) {
  json obj = {{"m", {{"k", "v"}}}, {"bad", {{"k", 1}}}, {"l", json::array()}};
  std::map<std::string, std::string> out;
  EXPECT_TRUE(readJsonStringMap(obj, "m", "d", out).isOk());
  EXPECT_EQ(out, (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_EQ(readJsonStringMap(obj, "bad", "d", out).message(),
            "d.bad.k: expected a string, got number");
  EXPECT_EQ(readJsonStringMap(obj, "l", "d", out).message(),
            "d.l: expected an object of strings, got array");
}

}  // namespace
}  // namespace nixsnap
