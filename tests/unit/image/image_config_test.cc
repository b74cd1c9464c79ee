#include "image/image_config.h"

#include <gtest/gtest.h>

#include <vector>

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

// A value nested 200,000 deep overflowed the stack in json::dump() while the error
// message was being written (SIGSEGV); now its first 64 characters are quoted.
TEST(ImageConfigTest, DeeplyNestedValueIsAnErrorNotACrash) {
  const size_t depth = 200000;
  std::string nested = std::string(depth, '[') + std::string(depth, ']');
  auto cmd = parseUserConfig(R"({"Cmd":[)" + nested + "]}");
  ASSERT_FALSE(cmd.isOk());
  EXPECT_EQ(cmd.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(cmd.status().message().find("image config: nested deeper than"), std::string::npos)
      << cmd.status().message().substr(0, 200);
  auto labels = parseUserConfig(R"({"Labels":)" + nested + "}");
  ASSERT_FALSE(labels.isOk());
  EXPECT_EQ(labels.status().code(), ErrorCode::InvalidArgument);
  // Keys the checks do not look at (kept and copied by the builder) are bounded too.
  for (const std::string& doc :
       {R"({"architecture":"amd64","os":"linux","config":{"Cmd":[)" + nested + "]}}",
        R"({"architecture":"amd64","os":"linux","config":{"X-Unknown":)" + nested + "}}",
        R"({"architecture":"amd64","os":"linux","history":[{"x":)" + nested + "}]}",
        R"({"architecture":"amd64","os":"linux","x-top":)" + nested + "}"}) {
    auto image = parseImageConfig(doc);
    ASSERT_FALSE(image.isOk()) << doc.substr(0, 80);
    EXPECT_EQ(image.status().code(), ErrorCode::InvalidArgument);
  }
}

TEST(ImageConfigTest, WrongTypeQuotesABoundedExcerptOfTheValue) {
  const size_t depth = 100;  // within the parser's depth limit, deeper than the excerpt
  std::string nested = std::string(depth, '[') + std::string(depth, ']');
  auto cmd = parseUserConfig(R"({"Cmd":[)" + nested + "]}");
  ASSERT_FALSE(cmd.isOk());
  EXPECT_EQ(cmd.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(cmd.status().message().find("element 0 is array " + std::string(64, '[')),
            std::string::npos)
      << cmd.status().message().substr(0, 200);
  EXPECT_EQ(cmd.status().message().find(std::string(65, '[')), std::string::npos)
      << cmd.status().message().substr(0, 200);
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

// The runtime passes these to exec (argv, envp, cwd) and to the user lookup as C strings:
// a NUL would cut them short, and runc cannot start the container at all.
TEST(ImageConfigTest, NulInAProcessFieldIsRefusedNamingFieldAndElement) {
  struct Case {
    const char* json;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"Entrypoint":["/bin/a","x\u0000y"]})", "\"Entrypoint\" element 1"},
           {R"({"cmd":["\u0000"]})", "\"cmd\" element 0"},
           {R"({"Env":["A=1","B=\u0000"]})", "\"Env\" element 1"},
           {R"({"WorkingDir":"/w\u0000"})", "\"WorkingDir\""},
           {R"({"User":"\u0000root"})", "\"User\""},
       }) {
    auto r = parseUserConfig(c.json);
    ASSERT_FALSE(r.isOk()) << c.json;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument) << c.json;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << c.json << " -> " << r.status().message();
    EXPECT_NE(r.status().message().find("NUL"), std::string::npos) << r.status().message();
  }
}

// No signal name holds a NUL, and label keys and values end up read as C strings (shells,
// hooks, tools): cut short, a label would silently say something else.
TEST(ImageConfigTest, NulInStopSignalOrALabelIsRefusedNamingTheKey) {
  struct Case {
    const char* json;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"StopSignal":"SIGTERM\u0000"})", "image config key \"StopSignal\" contains a NUL"},
           {R"({"Labels":{"ok":"v","k\u0000":"v"}})",
            "image config key \"Labels\" label \"k\\u0000\" contains a NUL"},
           {R"({"labels":{"k":"a\u0000b"}})",
            "image config key \"labels\" value of label \"k\" contains a NUL"},
       }) {
    auto r = parseUserConfig(c.json);
    ASSERT_FALSE(r.isOk()) << c.json;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument) << c.json;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << c.json << " -> " << r.status().message();
  }
  auto base = parseImageConfig(R"({"os":"linux","config":{"Labels":{"k":"\u0000"}}})");
  ASSERT_FALSE(base.isOk());
  EXPECT_NE(base.status().message().find(
                "image config field \"config.Labels\" value of label \"k\" contains a NUL"),
            std::string::npos)
      << base.status().message();
  auto signal = parseImageConfig(R"({"os":"linux","config":{"stopsignal":"\u0000"}})");
  ASSERT_FALSE(signal.isOk());
  EXPECT_NE(signal.status().message().find("\"config.stopsignal\" contains a NUL"),
            std::string::npos)
      << signal.status().message();
  EXPECT_TRUE(parseUserConfig(R"({"StopSignal":"SIGINT","Labels":{"k":"v"}})").isOk());
}

TEST(ImageConfigTest, NulInABaseConfigProcessFieldIsRefusedToo) {
  auto r = parseImageConfig(R"({"os":"linux","config":{"cmd":["sh","-c","\u0000"]}})");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("\"config.cmd\" element 2"), std::string::npos)
      << r.status().message();
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

// A whole image config (a base image's): wrong JSON types are InvalidArgument naming the
// field, never a library exception (which used to abort nix2container with exit 134).
TEST(ImageConfigTest, WholeConfigWrongTypesNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"architecture":5,"os":"linux"})", "\"architecture\""},
           {R"({"architecture":"amd64","os":["linux"]})", "\"os\""},
           {R"({"os":"linux","config":{"Env":[1,2]}})", "\"config.Env\""},
           {R"({"os":"linux","config":{"env":"A=1"}})", "\"config.env\""},
           {R"({"os":"linux","config":{"Labels":{"a":1}}})", "\"config.Labels\""},
           {R"({"os":"linux","config":{"ArgsEscaped":"yes"}})", "\"config.ArgsEscaped\""},
           {R"({"os":"linux","config":[]})", "\"config\""},
           {R"({"os":"linux","rootfs":{"type":"layers","diff_ids":[7]}})", "\"rootfs.diff_ids\""},
           {R"({"os":"linux","rootfs":"layers"})", "\"rootfs\""},
           {R"({"os":"linux","history":[{"empty_layer":"no"}]})", "\"history[0].empty_layer\""},
           {R"({"os":"linux","history":{}})", "\"history\""},
       }) {
    auto r = parseImageConfig(c.json);
    ASSERT_FALSE(r.isOk()) << c.json;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument) << c.json;
    EXPECT_NE(r.status().message().find(c.field), std::string::npos)
        << c.json << " -> " << r.status().message();
  }
  EXPECT_EQ(parseImageConfig("[1]").status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(parseImageConfig("{").status().code(), ErrorCode::InvalidArgument);
}

TEST(ImageConfigTest, WholeConfigKeepsDockerNullsAndExtraKeysAndCanonicalisesSection) {
  auto r = parseImageConfig(R"({"architecture":"amd64","os":"linux","variant":null,
      "config":{"env":["A=1"],"Labels":null,"Volumes":null,"Hostname":"h",
                "Healthcheck":{"Test":["NONE"]},"Memory":0},
      "rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"x","empty_layer":true}],
      "extra":{"anything":[1]}})");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)["config"]["Env"], nlohmann::json::array({"A=1"}));
  EXPECT_FALSE((*r)["config"].contains("env"));
  EXPECT_TRUE((*r)["config"]["Labels"].is_null());
  EXPECT_EQ((*r)["config"]["Memory"], 0);
  EXPECT_EQ((*r)["extra"]["anything"][0], 1);
  // A null Env or Labels in the base merges like an absent one.
  auto m = mergeConfig((*r)["config"], {{"Labels", {{"k", "v"}}}, {"Env", {"B=2"}}});
  EXPECT_EQ(m["Labels"]["k"], "v");
  EXPECT_EQ(m["Env"], nlohmann::json::array({"A=1", "B=2"}));
}

TEST(ImageConfigTest, WholeConfigSectionKeyInTwoSpellingsIsAnError) {
  auto r = parseImageConfig(R"({"config":{"Env":["A=1"],"ENV":["B=2"]}})");
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("twice"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace nixsnap::image
