#include "image/nix_layer_format.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace nixsnap::image {
namespace {

using oci::TarEntry;

const TarEntry* find(const std::vector<TarEntry>& es, const std::string& p) {
  for (const auto& e : es) {
    if (e.path == p) {
      return &e;
    }
  }
  return nullptr;
}

std::string sp(char c, const std::string& name) {
  return "/nix/store/" + std::string(32, c) + "-" + name;
}

TEST(NixLayerFormatTest, ClosureParsingKeepsOrderDropsBlanksAndDuplicates) {
  auto c =
      parseClosure(sp('a', "x") + "\n\n" + sp('b', "y") + "\n" + sp('a', "x") + "\n", "/nix/store");
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(*c, (std::vector<std::string>{sp('a', "x"), sp('b', "y")}));
}

TEST(NixLayerFormatTest, NonStoreLineIsRejectedWithLineNumber) {
  for (const std::string& bad :
       std::vector<std::string>{"/etc/passwd", sp('a', "x") + "/bin", "/nix/store/../etc",
                                "/nix/store/short-x", "relative"}) {
    auto c = parseClosure(sp('a', "x") + "\n" + bad + "\n", "/nix/store");
    ASSERT_EQ(c.status().code(), ErrorCode::InvalidArgument) << bad;
    EXPECT_NE(c.status().message().find("line 2"), std::string::npos);
  }
}

TEST(NixLayerFormatTest, CopyToRootRejectsPathsOutsideTheStore) {
  EXPECT_FALSE(parseCopyToRoot(R"(["/etc"])", "/nix/store").isOk());
  EXPECT_FALSE(parseCopyToRoot(R"({"a":1})", "/nix/store").isOk());
  EXPECT_TRUE(parseCopyToRoot("[\"" + sp('c', "z") + "\"]", "/nix/store").isOk());
}

TEST(NixLayerFormatTest, HugeBadLineIsQuotedOnceAndCapped) {
  const std::string line = "/nix/store/" + std::string(32, 'a') + "-" + std::string(1000000, 'b');
  auto c = parseClosure(line + "\n", "/nix/store");
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ErrorCode::InvalidArgument);
  EXPECT_LT(c.status().message().size(), 1000u) << c.status().message().substr(0, 300);
  EXPECT_NE(c.status().message().find("closure line 1: "), std::string::npos);
  EXPECT_NE(c.status().message().find("(1000044 bytes)"), std::string::npos)
      << c.status().message();
}

TEST(NixLayerFormatTest, CopyToRootNamesTheBadElement) {
  auto number = parseCopyToRoot("[\"" + sp('c', "z") + "\", 1]", "/nix/store");
  ASSERT_FALSE(number.isOk());
  EXPECT_NE(number.status().message().find("element 1 is number"), std::string::npos)
      << number.status().message();
  auto outside = parseCopyToRoot(R"(["/etc"])", "/nix/store");
  ASSERT_FALSE(outside.isOk());
  EXPECT_NE(outside.status().message().find("element 0: invalid store path \"/etc\""),
            std::string::npos)
      << outside.status().message();
}

TEST(NixLayerFormatTest, ClosurePathsBecomeMountpointsFileOrDirectory) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "store";
  std::string d = (store / (std::string(32, 'a') + "-dir")).string();
  std::string f = (store / (std::string(32, 'b') + "-file")).string();
  testing::writeFile(fs::path(d) / "x", "1");
  testing::writeFile(f, "data");
  auto es = nixLayerEntries({d, f}, {}, store);
  ASSERT_TRUE(es.isOk());
  std::string rel = store.string().substr(1);
  const TarEntry* de = find(*es, rel + "/" + std::string(32, 'a') + "-dir");
  const TarEntry* fe = find(*es, rel + "/" + std::string(32, 'b') + "-file");
  ASSERT_NE(de, nullptr);
  ASSERT_NE(fe, nullptr);
  EXPECT_EQ(de->type, TarEntry::Type::Directory);
  EXPECT_EQ(fe->type, TarEntry::Type::File);
  EXPECT_TRUE(fe->content.empty()) << "mountpoints are empty";
  EXPECT_EQ(find(*es, rel + "/" + std::string(32, 'a') + "-dir/x"), nullptr);
  EXPECT_NE(find(*es, rel), nullptr);
}

TEST(NixLayerFormatTest, CopyToRootFirstTreeWinsAndNothingShadowsTheStore) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "nix/store";
  fs::path r1 = store / (std::string(32, 'a') + "-one");
  fs::path r2 = store / (std::string(32, 'b') + "-two");
  testing::writeFile(r1 / "bin/hello", "1");
  testing::writeFile(r2 / "bin/hello", "2");
  testing::writeFile(r2 / "bin/other", "2");
  testing::writeFile(r2 / "nix/store/evil", "2");
  testing::writeFile(r1 / "share", "file in one");
  testing::writeFile(r2 / "share/doc", "dir in two");
  fs::path single = store / (std::string(32, 'c') + "-single.sh");
  testing::writeFile(single, "#!/bin/sh");
  auto es = nixLayerEntries({r1.string(), r2.string(), single.string()},
                            {r1.string(), r2.string(), single.string()}, store);
  ASSERT_TRUE(es.isOk()) << es.status().toString();
  const TarEntry* hello = find(*es, "bin/hello");
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->type, TarEntry::Type::Symlink);
  EXPECT_EQ(hello->link_target, (r1 / "bin/hello").string());
  ASSERT_NE(find(*es, "bin/other"), nullptr);
  EXPECT_EQ(find(*es, "bin/other")->link_target, (r2 / "bin/other").string());
  EXPECT_EQ(find(*es, "bin")->type, TarEntry::Type::Directory);
  EXPECT_EQ(find(*es, "share")->type, TarEntry::Type::Symlink);
  EXPECT_EQ(find(*es, "share/doc"), nullptr) << "a later tree cannot put a dir over a file";
  EXPECT_EQ(find(*es, "nix/store/evil"), nullptr);
  ASSERT_NE(find(*es, "single.sh"), nullptr);
  EXPECT_EQ(find(*es, "single.sh")->link_target, single.string());
}

// A store path that is a symlink to a directory is bind-mounted as that directory (mount
// follows the source), so its mountpoint must be a directory, not lstat's empty file.
TEST(NixLayerFormatTest, SymlinkStorePathGetsTheMountpointOfItsTarget) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "nix/store";
  fs::path target = store / (std::string(32, 'a') + "-target");
  fs::path file = store / (std::string(32, 'b') + "-file");
  testing::writeFile(target / "bin/x", "1");
  testing::writeFile(file, "data");
  fs::path to_dir = store / (std::string(32, 'c') + "-to-dir");
  fs::path to_file = store / (std::string(32, 'd') + "-to-file");
  fs::create_symlink(target, to_dir);
  fs::create_symlink(file, to_file);
  auto es = nixLayerEntries({to_dir.string(), to_file.string()}, {}, store);
  ASSERT_TRUE(es.isOk()) << es.status().toString();
  const TarEntry* d = find(*es, to_dir.string().substr(1));
  const TarEntry* f = find(*es, to_file.string().substr(1));
  ASSERT_NE(d, nullptr);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(d->type, TarEntry::Type::Directory);
  EXPECT_EQ(f->type, TarEntry::Type::File);
}

TEST(NixLayerFormatTest, ClosurePathMissingFromTheStoreIsRefusedNamingIt) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "nix/store";
  fs::path present = store / (std::string(32, 'a') + "-present");
  fs::path absent = store / (std::string(32, 'b') + "-absent");
  fs::path dangling = store / (std::string(32, 'c') + "-dangling");
  testing::writeFile(present / "x", "1");
  fs::create_symlink(store / (std::string(32, 'e') + "-gone"), dangling);
  for (const fs::path& bad : {absent, dangling}) {
    auto es = nixLayerEntries({present.string(), bad.string()}, {}, store);
    ASSERT_FALSE(es.isOk()) << bad;
    EXPECT_EQ(es.status().code(), ErrorCode::NotFound) << es.status().toString();
    EXPECT_NE(es.status().message().find(bad.string()), std::string::npos)
        << es.status().toString();
  }
}

// The original's #165: a copyToRoot root that is a symlink to another store path (e.g. a
// wrapper output pointing at the real package) is followed into that store path.
TEST(NixLayerFormatTest, CopyToRootSymlinkRootIsFollowedIntoItsTarget) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "nix/store";
  fs::path target = store / (std::string(32, 'a') + "-hello");
  testing::writeFile(target / "bin/hello", "#!/bin/sh");
  testing::writeFile(target / "share/doc/README", "x");
  fs::path link = store / (std::string(32, 'b') + "-hello-link");
  fs::create_symlink(target, link);
  auto es = nixLayerEntries({link.string(), target.string()}, {link.string()}, store);
  ASSERT_TRUE(es.isOk()) << es.status().toString();
  EXPECT_EQ(find(*es, "hello-link"), nullptr) << "the root is not linked as one entry";
  ASSERT_NE(find(*es, "bin"), nullptr);
  EXPECT_EQ(find(*es, "bin")->type, TarEntry::Type::Directory);
  const TarEntry* hello = find(*es, "bin/hello");
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->type, TarEntry::Type::Symlink);
  EXPECT_EQ(hello->link_target, (target / "bin/hello").string());
  ASSERT_NE(find(*es, "share/doc/README"), nullptr);
}

TEST(NixLayerFormatTest, CopyToRootSymlinkLeavingTheStoreIsRefused) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "nix/store";
  fs::path outside = dir.path() / "etc";
  testing::writeFile(outside / "passwd", "root");
  fs::path link = store / (std::string(32, 'b') + "-evil");
  fs::create_directories(store);
  fs::create_symlink(outside, link);
  auto es = nixLayerEntries({link.string()}, {link.string()}, store);
  ASSERT_FALSE(es.isOk());
  EXPECT_EQ(es.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(es.status().message().find(link.string()), std::string::npos) << es.status().toString();
}

// The root links point into store paths that only the closure's mountpoints provide: a
// root outside the closure would give links that dangle in every container.
TEST(NixLayerFormatTest, CopyToRootOutsideTheClosureIsRefused) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "nix/store";
  fs::path in = store / (std::string(32, 'a') + "-in");
  fs::path out = store / (std::string(32, 'b') + "-out");
  testing::writeFile(in / "bin/a", "1");
  testing::writeFile(out / "bin/b", "2");
  struct Case {
    std::vector<std::string> closure;
    fs::path refused;
  };
  for (const Case& c : {Case{{in.string()}, out}, Case{{}, in}}) {  // {}: no --closure
    auto es = nixLayerEntries(c.closure, {in.string(), out.string()}, store);
    ASSERT_FALSE(es.isOk());
    EXPECT_EQ(es.status().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(es.status().message().find("copyToRoot path " + c.refused.string() +
                                         " is not in the closure"),
              std::string::npos)
        << es.status().toString();
  }
}

TEST(NixLayerFormatTest, CopyToRootSymlinkToAStorePathOutsideTheClosureIsRefused) {
  auto dir = testing::makeTempDir();
  fs::path store = dir.path() / "nix/store";
  fs::path target = store / (std::string(32, 'a') + "-hello");
  testing::writeFile(target / "bin/hello", "#!/bin/sh");
  fs::path link = store / (std::string(32, 'b') + "-hello-link");
  fs::create_symlink(target, link);
  auto es = nixLayerEntries({link.string()}, {link.string()}, store);
  ASSERT_FALSE(es.isOk());
  EXPECT_EQ(es.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(es.status().message().find("copyToRoot path " + link.string() + " leads to " +
                                       target.string() + ", which is not in the closure"),
            std::string::npos)
      << es.status().toString();
}

TEST(NixLayerFormatAnnotationsTest, AcceptsNixLayersAndPlainLayers) {
  const std::string p = "/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a";
  EXPECT_TRUE(checkNixLayerAnnotations("sha256:aa", {}, "/nix/store").isOk());
  EXPECT_TRUE(checkNixLayerAnnotations("sha256:aa",
                                       {{"containerd.io/snapshot/nix-layer", "true"},
                                        {"containerd.io/snapshot/nix-store-path.0", p}},
                                       "/nix/store")
                  .isOk());
}

TEST(NixLayerFormatAnnotationsTest, StorePathsWithoutNixLayerAreRefused) {
  Status st = checkNixLayerAnnotations("sha256:aa",
                                       {{"containerd.io/snapshot/nix-store-path.0",
                                         "/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a"}},
                                       "/nix/store");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("sha256:aa"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("containerd.io/snapshot/nix-layer"), std::string::npos);
}

TEST(NixLayerFormatAnnotationsTest, HostileStorePathIsRefused) {
  Status st = checkNixLayerAnnotations("sha256:aa",
                                       {{"containerd.io/snapshot/nix-layer", "true"},
                                        {"containerd.io/snapshot/nix-store-path.0", "/etc/passwd"}},
                                       "/nix/store");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("/etc/passwd"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("nix-store-path.0"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace nixsnap::image
