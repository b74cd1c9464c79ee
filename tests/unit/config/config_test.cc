#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string_view>

#include "support/test_env.h"

namespace nixsnap::config {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTest, EmptyDocumentGivesDesignDefaults) {
  auto c = parseConfig("", "/x.toml");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->address, "/run/nix-snapshotter/nix-snapshotter.sock");
  EXPECT_EQ(c->root, "/var/lib/containerd/io.containerd.snapshotter.v1.nix");
  EXPECT_EQ(c->external_builder, "");
  EXPECT_TRUE(c->image_service.enable);
  EXPECT_EQ(c->image_service.containerd_address, "/run/containerd/containerd.sock");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->store_dir, "/nix/store");
  EXPECT_FALSE(c->fuse_overlayfs);
  EXPECT_TRUE(validate(*c).isOk());
}

TEST(ConfigTest, ParsesEveryKeyOfTheOriginalAndTheAdditions) {
  auto c = parseConfig(R"(
address = "/run/ns/ns.sock"
root = "/var/lib/ns"
external_builder = "/usr/local/bin/builder"
log_level = "debug"
store_dir = "/gnu/store"
fuse_overlayfs = true

[image_service]
enable = false
containerd_address = "/run/cd/cd.sock"
)",
                       "/x.toml");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->address, "/run/ns/ns.sock");
  EXPECT_EQ(c->root, "/var/lib/ns");
  EXPECT_EQ(c->external_builder, "/usr/local/bin/builder");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->store_dir, "/gnu/store");
  EXPECT_TRUE(c->fuse_overlayfs);
  EXPECT_FALSE(c->image_service.enable);
  EXPECT_EQ(c->image_service.containerd_address, "/run/cd/cd.sock");
}

TEST(ConfigTest, MaxParallelRealisationsDefaultsTo4AndIsBounded) {
  auto d = parseConfig("", "/x.toml");
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(d->max_parallel_realisations, 4);
  auto c = parseConfig("max_parallel_realisations = 16\n", "/x.toml");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->max_parallel_realisations, 16);
  EXPECT_TRUE(validate(*c).isOk());
  for (const char* bad : {"0", "-1", "257"}) {
    auto b = parseConfig(std::string("max_parallel_realisations = ") + bad + "\n", "/x.toml");
    ASSERT_TRUE(b.isOk());
    Status st = validate(*b);
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << bad;
    EXPECT_THAT(st.message(), HasSubstr("\"max_parallel_realisations\" must be between 1 and 256"));
  }
  auto wrong = parseConfig("max_parallel_realisations = \"4\"\n", "/x.toml");
  EXPECT_EQ(wrong.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("expected an integer for key \"max_parallel_realisations\""));
}

TEST(ConfigTest, PartialImageServiceTableKeepsOtherDefaults) {
  auto c = parseConfig("[image_service]\nenable = false\n", "/x.toml");
  ASSERT_TRUE(c.isOk());
  EXPECT_FALSE(c->image_service.enable);
  EXPECT_EQ(c->image_service.containerd_address, "/run/containerd/containerd.sock");
  EXPECT_EQ(c->address, "/run/nix-snapshotter/nix-snapshotter.sock");
}

TEST(ConfigTest, UnknownTopLevelKeyIsNamed) {
  auto c = parseConfig("adress = \"/a.sock\"\n", "/x.toml");
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(c.status().message(), "config /x.toml: unknown key \"adress\"");
}

TEST(ConfigTest, UnknownNestedKeyIsNamedWithItsTable) {
  auto c = parseConfig("[image_service]\nenbale = true\n", "/x.toml");
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().message(), "config /x.toml: unknown key \"image_service.enbale\"");
}

TEST(ConfigTest, UnknownTableIsNamed) {
  auto c = parseConfig("[plugins]\nx = 1\n", "/x.toml");
  ASSERT_FALSE(c.isOk());
  EXPECT_THAT(c.status().message(), HasSubstr("unknown key \"plugins\""));
}

TEST(ConfigTest, WrongTypeIsNamed) {
  auto c = parseConfig("[image_service]\nenable = \"yes\"\n", "/x.toml");
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("\"image_service.enable\""));
  EXPECT_THAT(c.status().message(), HasSubstr("boolean"));

  auto d = parseConfig("root = 3\n", "/x.toml");
  ASSERT_FALSE(d.isOk());
  EXPECT_THAT(d.status().message(), HasSubstr("\"root\""));

  auto e = parseConfig("image_service = 1\n", "/x.toml");
  ASSERT_FALSE(e.isOk());
  EXPECT_THAT(e.status().message(), HasSubstr("\"image_service\""));
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  auto c = parseConfig("address = \"/a\"\nroot = \n", "/x.toml");
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("config /x.toml"));
  EXPECT_THAT(c.status().message(), HasSubstr("line 2"));
}

TEST(ConfigTest, MissingDefaultFileMeansDefaults) {
  auto dir = testing::makeTempDir();
  auto c = loadConfig(dir.path() / "absent.toml", /*must_exist=*/false);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(*c, Config{});
}

TEST(ConfigTest, MissingExplicitFileIsAnError) {
  auto dir = testing::makeTempDir();
  auto c = loadConfig(dir.path() / "absent.toml", /*must_exist=*/true);
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("absent.toml"));
}

TEST(ConfigTest, LoadsFileAndNamesItInErrors) {
  auto dir = testing::makeTempDir();
  const auto good = dir.path() / "good.toml";
  testing::writeFile(good, "root = \"/srv/ns\"\n");
  auto c = loadConfig(good, true);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->root, "/srv/ns");

  const auto bad = dir.path() / "bad.toml";
  testing::writeFile(bad, "bogus = 1\n");
  auto b = loadConfig(bad, false);
  ASSERT_FALSE(b.isOk());
  EXPECT_EQ(b.status().message(), "config " + bad.string() + ": unknown key \"bogus\"");
}

TEST(ConfigTest, EndlessOrHugeInputIsRefusedAfterTheCap) {
  // /dev/zero never ends: reading must stop at the cap instead of filling memory.
  auto z = loadConfig("/dev/zero", true);
  ASSERT_FALSE(z.isOk());
  EXPECT_EQ(z.status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(z.status().message(),
            "config /dev/zero: larger than " + std::to_string(kMaxConfigBytes) + " bytes");

  auto dir = testing::makeTempDir();
  const auto at_cap = dir.path() / "at-cap.toml";
  std::string padded = "root = \"/srv/ns\"\n";
  padded += "#" + std::string(kMaxConfigBytes - padded.size() - 2, 'x') + "\n";
  ASSERT_EQ(padded.size(), kMaxConfigBytes);
  testing::writeFile(at_cap, padded);
  auto ok = loadConfig(at_cap, true);
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ(ok->root, "/srv/ns");

  testing::writeFile(at_cap, padded + "\n");
  EXPECT_EQ(loadConfig(at_cap, true).status().code(), ErrorCode::InvalidArgument);
}

TEST(ConfigTest, DeepestKeyThatFitsIsAnErrorNotACrash) {
  auto dir = testing::makeTempDir();
  const auto deep = dir.path() / "deep.toml";
  std::string key;
  while (key.size() + 8 < kMaxConfigBytes) {
    key += "a.";
  }
  testing::writeFile(deep, key + "a = 1\n");
  auto c = loadConfig(deep, true);
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
}

TEST(ConfigTest, DirectoryIsRefused) {
  auto dir = testing::makeTempDir();
  auto c = loadConfig(dir.path(), true);
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("is a directory"));
}

TEST(ConfigTest, ReadsFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string doc = "log_level = \"debug\"\n";
  ASSERT_EQ(::write(fds[1], doc.data(), doc.size()), static_cast<ssize_t>(doc.size()));
  ::close(fds[1]);
  auto c = loadConfig("/dev/fd/" + std::to_string(fds[0]), true);
  ::close(fds[0]);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->log_level, "debug");
}

TEST(ConfigTest, OverridesApplyOnlyWhenGiven) {
  Config c;
  c.address = "/file/a.sock";
  c.root = "/file/root";
  c.log_level = "warn";
  applyOverrides(c, Overrides{});
  EXPECT_EQ(c.address, "/file/a.sock");
  EXPECT_EQ(c.root, "/file/root");
  EXPECT_EQ(c.log_level, "warn");

  Overrides o;
  o.root = "/flag/root";
  applyOverrides(c, o);
  EXPECT_EQ(c.address, "/file/a.sock");
  EXPECT_EQ(c.root, "/flag/root");
  EXPECT_EQ(c.log_level, "warn");

  o.address = "/flag/a.sock";
  o.log_level = "trace";
  applyOverrides(c, o);
  EXPECT_EQ(c.address, "/flag/a.sock");
  EXPECT_EQ(c.log_level, "trace");
}

TEST(ConfigTest, ValidateRejectsRelativePathsBadLevelAndLongSocket) {
  Config c;
  c.root = "relative/root";
  EXPECT_THAT(validate(c).message(), HasSubstr("\"root\""));
  c = Config{};
  c.address = "a.sock";
  EXPECT_THAT(validate(c).message(), HasSubstr("\"address\""));
  c = Config{};
  c.store_dir = "";
  EXPECT_THAT(validate(c).message(), HasSubstr("\"store_dir\""));
  c = Config{};
  c.log_level = "loud";
  EXPECT_EQ(validate(c).code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(validate(c).message(), HasSubstr("\"log_level\""));
  c = Config{};
  c.address = "/" + std::string(120, 'a');
  EXPECT_THAT(validate(c).message(), HasSubstr("too long"));
  c = Config{};
  c.image_service.enable = false;
  c.image_service.containerd_address = "";
  EXPECT_TRUE(validate(c).isOk());
}

TEST(ConfigTest, ValidateNamesTheFlagABadValueCameFrom) {
  Overrides flags;
  flags.log_level = "bogus";
  flags.root = "relative/root";
  flags.address = "/" + std::string(120, 'a');
  Config c;
  applyOverrides(c, flags);
  Status st = validate(c, flags);
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("flag --root must be an absolute path"));
  c.root = "/r";
  EXPECT_THAT(validate(c, flags).message(), HasSubstr("flag --address (-a) is too long"));
  c.address = "/a.sock";
  st = validate(c, flags);
  EXPECT_THAT(st.message(), HasSubstr("flag --log-level (-l) must be one of"));
  EXPECT_THAT(st.message(), HasSubstr("\"bogus\""));
  EXPECT_THAT(st.message(), ::testing::Not(HasSubstr("log_level")));
  // The same values from the file: named by their keys.
  EXPECT_THAT(validate(c).message(), HasSubstr("config: key \"log_level\""));
}

TEST(ConfigTest, StoreDirMustBeANormalisedPathBelowTheRoot) {
  for (const char* bad : {"/", "/nix/store/../../etc", "/nix/./store", "/nix//store", "/nix/.."}) {
    Config c;
    c.store_dir = bad;
    Status st = validate(c);
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << bad;
    EXPECT_THAT(st.message(), HasSubstr("\"store_dir\"")) << bad;
  }
  Config ok;
  ok.store_dir = "/srv/nix-store.d/store";
  EXPECT_TRUE(validate(ok).isOk());
}

TEST(ConfigTest, PathsWithControlCharactersAreRefused) {
  Config c;
  c.root = "/var/lib/ns\nx";
  EXPECT_THAT(validate(c).message(), HasSubstr("control characters"));
  c = Config{};
  c.address = "/run/ns\r.sock";
  EXPECT_THAT(validate(c).message(), HasSubstr("\"address\""));
  c = Config{};
  c.store_dir = std::string("/nix/st\x7f");
  EXPECT_EQ(validate(c).code(), ErrorCode::InvalidArgument);
}

TEST(ConfigTest, OriginalsFatalAndPanicLevelsAreAccepted) {
  for (const char* level : {"fatal", "panic", "Info"}) {
    Config c;
    c.log_level = level;
    EXPECT_TRUE(validate(c).isOk()) << level;
  }
}

TEST(ConfigTest, StoreDirTrailingSlashIsDropped) {
  auto c = parseConfig("store_dir = \"/nix/store/\"\n", "test.toml");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->store_dir, "/nix/store");
}

// toml++ 3.3 reaches undefined behaviour on many non-ASCII characters (fuzz_daemon_config's
// findings, verbatim, and the same in a string and a comment): the file must be ASCII.
TEST(ConfigTest, NonAsciiIsInvalidArgumentNamingTheLine) {
  for (std::string_view text :
       {std::string_view("me \xcd\xa4[[[+[[[[[a\0\0\0[[[[[[[[[[[[]\0\n", 33),
        std::string_view("\xef\xb4\xbf"), std::string_view("\xef\xbb\xbf\x0b"),
        std::string_view("l=1979-05'~<<<\xc4\xbc<<\"e"),
        std::string_view("root = \"/var/lib/caf\xc3\xa9\"\n"),
        std::string_view("# caf\xc3\xa9\n")}) {
    auto c = parseConfig(text, "/x.toml");
    ASSERT_FALSE(c.isOk()) << text;
    EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(c.status().message().find("/x.toml"), std::string::npos) << c.status().message();
  }
  auto e = parseConfig("root = \"/x\"\n\xc3\xa9 = 1\n", "/x.toml");
  EXPECT_NE(e.status().message().find("line 2: non-ASCII"), std::string::npos)
      << e.status().message();
}

TEST(ConfigTest, EscapesInStringsAndALeadingByteOrderMarkAreFine) {
  auto c = parseConfig("\xef\xbb\xbf# comment\nroot = \"/var/lib/caf\\u00e9\"\n", "/x.toml");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->root, "/var/lib/caf\xc3\xa9");
}

}  // namespace
}  // namespace nixsnap::config
