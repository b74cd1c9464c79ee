#include "image/image_config.h"

#include <gtest/gtest.h>

namespace nixsnap::image {
namespace {

TEST(ImageConfigTest, KeysMatchCaseInsensitivelyAndComeBackCanonical) {
  auto c = parseUserConfig(R"({"entrypoint":["/a"],"CMD":["x"],"workingdir":"/w",
                               "exposedPorts":{"80/tcp":{}},"labels":{"k":"v"}})");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ((*c)["Entrypoint"], nlohmann::json::array({"/a"}));
  EXPECT_EQ((*c)["Cmd"], nlohmann::json::array({"x"}));
  EXPECT_EQ((*c)["WorkingDir"], "/w");
  EXPECT_TRUE((*c)["ExposedPorts"].contains("80/tcp"));
  EXPECT_EQ((*c)["Labels"]["k"], "v");
}

TEST(ImageConfigTest, UnknownKeyIsAnErrorNamingIt) {
  auto c = parseUserConfig(R"({"Entrypoint":["/a"],"Entrypiont":["/b"]})");
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(c.status().message().find("\"Entrypiont\""), std::string::npos);
}

TEST(ImageConfigTest, SameKeyInTwoSpellingsIsAnError) {
  auto c = parseUserConfig(R"({"Env":["A=1"],"env":["B=2"]})");
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
}

TEST(ImageConfigTest, WrongTypeIsAnError) {
  EXPECT_FALSE(parseUserConfig(R"({"Entrypoint":"/a"})").isOk());
  EXPECT_FALSE(parseUserConfig(R"({"Labels":{"a":1}})").isOk());
  EXPECT_FALSE(parseUserConfig(R"({"User":5})").isOk());
  EXPECT_FALSE(parseUserConfig(R"([1])").isOk());
  EXPECT_FALSE(parseUserConfig(R"({)").isOk());
}

TEST(ImageConfigTest, NonStringListElementIsNamed) {
  auto r = parseUserConfig(R"({"Env":["A=1",2]})");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("element 1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("number"), std::string::npos) << r.status().message();
  auto l = parseUserConfig(R"({"Labels":{"a":1}})");
  ASSERT_FALSE(l.isOk());
  EXPECT_NE(l.status().message().find("\"a\""), std::string::npos) << l.status().message();
}

TEST(ImageConfigTest, MergeEnvByNameLabelsAndPortsUnionOthersReplaced) {
  nlohmann::json base = {{"Env", {"PATH=/bin", "A=1"}},
                         {"Cmd", {"sh"}},
                         {"Labels", {{"a", "1"}, {"b", "1"}}},
                         {"ExposedPorts", {{"80/tcp", nlohmann::json::object()}}},
                         {"User", "nobody"}};
  nlohmann::json user = {{"Env", {"A=2", "B=3"}},
                         {"Labels", {{"b", "2"}}},
                         {"ExposedPorts", {{"443/tcp", nlohmann::json::object()}}},
                         {"User", "root"}};
  auto m = mergeConfig(base, user);
  EXPECT_EQ(m["Env"], nlohmann::json::array({"PATH=/bin", "A=2", "B=3"}));
  EXPECT_EQ(m["Labels"], nlohmann::json({{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(m["ExposedPorts"].contains("80/tcp"));
  EXPECT_TRUE(m["ExposedPorts"].contains("443/tcp"));
  EXPECT_EQ(m["User"], "root");
  EXPECT_EQ(m["Cmd"], nlohmann::json::array({"sh"}));
}

TEST(ImageConfigTest, EntrypointWithoutCmdDropsBaseCmd) {
  nlohmann::json base = {{"Cmd", {"sh"}}, {"Entrypoint", {"/old"}}};
  auto m = mergeConfig(base, {{"Entrypoint", {"/new"}}});
  EXPECT_EQ(m["Entrypoint"], nlohmann::json::array({"/new"}));
  EXPECT_FALSE(m.contains("Cmd"));
}

}  // namespace
}  // namespace nixsnap::image
