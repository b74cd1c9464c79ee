// nix2container's flags: the original's short spellings, env fallbacks, --version, levels.
#include "cmd/nix2container_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace nixsnap::cmd {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using Env = std::map<std::string, std::string>;

std::variant<Nix2ContainerArgs, CliExit> parse(std::vector<std::string> args, Env env = {}) {
  return parseNix2ContainerArgs(args, [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

Nix2ContainerArgs ok(std::vector<std::string> args, Env env = {}) {
  auto r = parse(std::move(args), std::move(env));
  if (auto* exit = std::get_if<CliExit>(&r)) {
    ADD_FAILURE() << "exit " << exit->code << ": " << exit->err;
    return {};
  }
  return std::get<Nix2ContainerArgs>(r);
}

CliExit exits(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  if (!std::holds_alternative<CliExit>(r)) {
    ADD_FAILURE() << "parsed, expected an exit";
    return {};
  }
  return std::get<CliExit>(r);
}

TEST(Nix2ContainerCliTest, ShortFlagsOfTheOriginal) {
  auto a = ok({"-a", "/run/c.sock", "-n", "k8s.io", "-l", "debug", "load", "img.tar"});
  EXPECT_EQ(a.address, "/run/c.sock");
  EXPECT_EQ(a.ns, "k8s.io");
  EXPECT_EQ(a.level, log::Level::Debug);
  EXPECT_EQ(a.command, Nix2ContainerArgs::Command::Load);
  EXPECT_EQ(a.archive, "img.tar");
}

TEST(Nix2ContainerCliTest, LongFlagsWithSpaceOrEquals) {
  auto a = ok({"--address=/a.sock", "--namespace", "ns1", "--log-level=warn", "load", "x"});
  EXPECT_EQ(a.address, "/a.sock");
  EXPECT_EQ(a.ns, "ns1");
  EXPECT_EQ(a.level, log::Level::Warn);
}

TEST(Nix2ContainerCliTest, EnvironmentFillsWhatNoFlagGives) {
  Env env{{"CONTAINERD_ADDRESS", "/env/c.sock"}, {"CONTAINERD_NAMESPACE", "envns"}};
  auto a = ok({"load", "x"}, env);
  EXPECT_EQ(a.address, "/env/c.sock");
  EXPECT_EQ(a.ns, "envns");
  auto b = ok({"-a", "/flag.sock", "load", "x"}, env);
  EXPECT_EQ(b.address, "/flag.sock");  // the flag wins
  EXPECT_EQ(b.ns, "envns");
}

TEST(Nix2ContainerCliTest, DefaultsWithoutFlagsOrEnvironment) {
  auto a = ok({"load", "x"}, {{"CONTAINERD_ADDRESS", ""}});  // empty counts as unset
  EXPECT_EQ(a.address, "/run/containerd/containerd.sock");
  EXPECT_EQ(a.ns, "default");
  EXPECT_EQ(a.level, log::Level::Info);
}

TEST(Nix2ContainerCliTest, FatalAndPanicAreAcceptedAsTheHighestLevel) {
  EXPECT_EQ(ok({"-l", "fatal", "load", "x"}).level, log::Level::Error);
  EXPECT_EQ(ok({"--log-level", "panic", "load", "x"}).level, log::Level::Error);
}

TEST(Nix2ContainerCliTest, UnknownLogLevelIsAUsageErrorNamingIt) {
  auto e = exits({"-l", "loud", "load", "x"});
  EXPECT_NE(e.code, 0);
  EXPECT_THAT(e.err, HasSubstr("\"loud\""));
  EXPECT_THAT(e.err, HasSubstr("fatal or panic"));
}

TEST(Nix2ContainerCliTest, UnknownFlagIsNamedEvenWithoutASubcommand) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--bogus"}, {"-v"}, {"load", "--bogus", "x"}}) {
    auto e = exits(args);
    EXPECT_EQ(e.code, 2) << ::testing::PrintToString(args);
    EXPECT_THAT(e.err, HasSubstr(args.size() == 1 ? args[0] : "--bogus"))
        << ::testing::PrintToString(args);
  }
  auto none = exits({});
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(none.err, HasSubstr("subcommand is required"));
}

TEST(Nix2ContainerCliTest, VersionPrintsTheProjectVersionAndExitsZero) {
  auto e = exits({"--version"});
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.out, std::string("nix2container version ") + NIXSNAP_EXPECTED_VERSION + "\n");
  EXPECT_THAT(e.err, IsEmpty());
  EXPECT_STREQ(version(), NIXSNAP_EXPECTED_VERSION);
}

TEST(Nix2ContainerCliTest, HelpListsTheShortFlags) {
  auto e = exits({"--help"});
  EXPECT_EQ(e.code, 0);
  EXPECT_THAT(e.out, HasSubstr("-a,--address"));
  EXPECT_THAT(e.out, HasSubstr("-n,--namespace"));
  EXPECT_THAT(e.out, HasSubstr("-l,--log-level"));
}

TEST(Nix2ContainerCliTest, PushFlags) {
  auto a = ok({"push", "--plain-http", "--authfile", "/a.json", "--ref", "redis", "img.tar"});
  EXPECT_EQ(a.command, Nix2ContainerArgs::Command::Push);
  EXPECT_EQ(a.push_ref, "redis");
  EXPECT_TRUE(a.plain_http);
  EXPECT_EQ(a.authfile, "/a.json");
  EXPECT_EQ(a.archive, "img.tar");
  EXPECT_FALSE(ok({"push", "--ref", "r", "x"}).plain_http);
}

TEST(Nix2ContainerCliTest, BuildFlags) {
  auto a = ok({"build", "--config", "c.json", "--closure", "cl", "--copy-to-root", "r.json",
               "--from-image", "base.tar", "--ref", "x:1", "out.tar"});
  EXPECT_EQ(a.command, Nix2ContainerArgs::Command::Build);
  EXPECT_EQ(a.build.config, "c.json");
  EXPECT_EQ(a.build.closure, "cl");
  EXPECT_EQ(a.build.copy_to_root, "r.json");
  EXPECT_EQ(a.build.from_image, "base.tar");
  EXPECT_EQ(a.build.ref, "x:1");
  EXPECT_EQ(a.build.out, "out.tar");
}

TEST(Nix2ContainerCliTest, LoadStoreDir) {
  EXPECT_EQ(ok({"load", "img.tar"}).store_dir, "/nix/store");
  auto a = ok({"load", "--store-dir", "/tmp/x/store", "img.tar"});
  EXPECT_EQ(a.command, Nix2ContainerArgs::Command::Load);
  EXPECT_EQ(a.store_dir, "/tmp/x/store");
  for (const char* bad :
       {"store", "/nix/store/", "", "/", "/nix//store", "/nix/../nix/store", "/nix/./store"}) {
    auto e = exits({"load", "--store-dir", bad, "img.tar"});
    EXPECT_EQ(e.code, 2) << bad;
    EXPECT_THAT(e.err, HasSubstr("--store-dir")) << bad;
  }
}

TEST(Nix2ContainerCliTest, UsageErrorsExitNonZeroOnStderr) {
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {}, {"load"}, {"push", "x"}, {"--bogus", "load", "x"}, {"frobnicate"}, {"-a"}}) {
    auto e = exits(bad);
    EXPECT_EQ(e.code, 2) << ::testing::PrintToString(bad);
    EXPECT_THAT(e.err, Not(IsEmpty())) << ::testing::PrintToString(bad);
  }
}

// CLI11's own messages ("A subcommand is required") read like the program's other errors.
TEST(Nix2ContainerCliTest, UsageErrorsStartWithTheProgramName) {
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{},
                                             {"load"},
                                             {"push", "x"},
                                             {"--bogus", "load", "x"},
                                             {"frobnicate"},
                                             {"-a"},
                                             {"-l", "loud", "load", "x"},
                                             {"load", "--store-dir", "rel", "x"},
                                             {"build", ""}}) {
    auto e = exits(bad);
    EXPECT_THAT(e.err, ::testing::StartsWith("nix2container: ")) << ::testing::PrintToString(bad);
    EXPECT_THAT(e.out, IsEmpty()) << ::testing::PrintToString(bad);
  }
}

// "" used to resolve to the current directory (build: "OUT ... is a directory"; load: a
// read error naming no file); now the argument itself is named.
TEST(Nix2ContainerCliTest, EmptyOutOrArchiveIsAUsageErrorNamingIt) {
  struct Case {
    std::vector<std::string> args;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{{{"build", ""}, "OUT is empty"},
                                         {{"build", "--ref", "a:1", ""}, "OUT is empty"},
                                         {{"load", ""}, "ARCHIVE is empty"},
                                         {{"push", "--ref", "r", ""}, "ARCHIVE is empty"}}) {
    auto e = exits(c.args);
    EXPECT_EQ(e.code, 2) << ::testing::PrintToString(c.args);
    EXPECT_THAT(e.err, HasSubstr(c.want)) << ::testing::PrintToString(c.args);
  }
}

}  // namespace
}  // namespace nixsnap::cmd
