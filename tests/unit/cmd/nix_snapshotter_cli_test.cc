// nix-snapshotter's flags: the original's short spellings and -v/--version.
#include "cmd/nix_snapshotter_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nixsnap::cmd {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::StartsWith;

SnapshotterArgs ok(std::vector<std::string> args) {
  auto r = parseSnapshotterArgs(args);
  if (auto* exit = std::get_if<CliExit>(&r)) {
    ADD_FAILURE() << "exit " << exit->code << ": " << exit->err;
    return {};
  }
  return std::get<SnapshotterArgs>(r);
}

CliExit exits(std::vector<std::string> args) {
  auto r = parseSnapshotterArgs(args);
  if (!std::holds_alternative<CliExit>(r)) {
    ADD_FAILURE() << "parsed, expected an exit";
    return {};
  }
  return std::get<CliExit>(r);
}

TEST(SnapshotterCliTest, ShortFlagsOfTheOriginal) {
  auto a = ok({"-c", "/etc/ns.toml", "-a", "/run/ns.sock", "-l", "fatal"});
  EXPECT_THAT(a.config_path, Optional(std::string("/etc/ns.toml")));
  EXPECT_THAT(a.overrides.address, Optional(std::string("/run/ns.sock")));
  EXPECT_THAT(a.overrides.log_level, Optional(std::string("fatal")));
  EXPECT_FALSE(a.overrides.root.has_value());
}

TEST(SnapshotterCliTest, LongFlags) {
  auto a = ok({"--config=/c.toml", "--address", "/a.sock", "--root", "/r", "--log-level", "debug"});
  EXPECT_THAT(a.config_path, Optional(std::string("/c.toml")));
  EXPECT_THAT(a.overrides.address, Optional(std::string("/a.sock")));
  EXPECT_THAT(a.overrides.root, Optional(std::string("/r")));
  EXPECT_THAT(a.overrides.log_level, Optional(std::string("debug")));
}

TEST(SnapshotterCliTest, NothingGivenLeavesEverythingToTheConfigFile) {
  auto a = ok({});
  EXPECT_FALSE(a.config_path.has_value());
  EXPECT_FALSE(a.overrides.address.has_value());
  EXPECT_FALSE(a.overrides.log_level.has_value());
}

TEST(SnapshotterCliTest, VersionInBothSpellingsPrintsTheProjectVersion) {
  for (const char* flag : {"--version", "-v"}) {
    auto e = exits({flag});
    EXPECT_EQ(e.code, 0) << flag;
    EXPECT_EQ(e.out, std::string("nix-snapshotter version ") + NIXSNAP_EXPECTED_VERSION + "\n")
        << flag;
    EXPECT_THAT(e.err, IsEmpty());
  }
}

TEST(SnapshotterCliTest, HelpListsTheShortFlags) {
  auto e = exits({"-h"});
  EXPECT_EQ(e.code, 0);
  EXPECT_THAT(e.out, HasSubstr("-c,--config"));
  EXPECT_THAT(e.out, HasSubstr("-a,--address"));
  EXPECT_THAT(e.out, HasSubstr("-l,--log-level"));
}

TEST(SnapshotterCliTest, UsageErrorsExitNonZero) {
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--bogus"}, {"-c"}, {"stray"}}) {
    auto e = exits(bad);
    EXPECT_NE(e.code, 0) << ::testing::PrintToString(bad);
    EXPECT_THAT(e.err, StartsWith("nix-snapshotter: ")) << ::testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace nixsnap::cmd
