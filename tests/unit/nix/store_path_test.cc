#include "nix/store_path.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

constexpr char kHash[] = "0123456789abcdfghijklmnpqrsvwxyz";

std::string sp(const std::string& name) { return std::string("/nix/store/") + kHash + "-" + name; }

TEST(StorePathTest, AcceptsWellFormedPaths) {
  for (const std::string& name :
       {"hello-2.12", "a", "x+y", "under_score", "q?=", "with.dots..inside", "A-Z"}) {
    EXPECT_TRUE(nix::checkStorePathSyntax("/nix/store", sp(name)).isOk()) << name;
  }
  EXPECT_TRUE(nix::checkStorePathSyntax("/nix/store", sp(std::string(211, 'n'))).isOk());
}

TEST(StorePathTest, RejectsHostilePaths) {
  const std::vector<std::string> bad = {
      "",
      "/nix/store",
      "/nix/store/",
      "/etc/passwd",
      "/nix/store/../etc",
      "/nix/storex/" + std::string(kHash) + "-a",
      "nix/store/" + std::string(kHash) + "-a",
      "/nix//store/" + std::string(kHash) + "-a",
      sp("a") + "/",
      sp("a") + "/bin",
      sp("a") + "/..",
      sp(".hidden"),
      sp(".."),
      sp(""),
      sp("sp ace"),
      sp("semi;colon"),
      sp("new\nline"),
      sp(std::string(212, 'n')),
      "/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-a",  // 'e' is not Nix base32
      "/nix/store/0123456789ABCDFGHIJKLMNPQRSVWXYZ-a",
      "/nix/store/0123-a",
      "/nix/store/" + std::string(kHash) + "a",
      "/nix/store/" + std::string(kHash) + "_a",
  };
  for (const std::string& p : bad) {
    Status st = nix::checkStorePathSyntax("/nix/store", p);
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << p;
    EXPECT_EQ(nix::parseStorePath("/nix/store", p).status().code(), ErrorCode::InvalidArgument)
        << p;
  }
}

TEST(StorePathTest, MessageQuotesThePath) {
  Status st = nix::checkStorePathSyntax("/nix/store", "/etc/passwd");
  EXPECT_NE(st.message().find("\"/etc/passwd\""), std::string::npos) << st.message();
}

TEST(StorePathTest, CustomStoreDir) {
  EXPECT_TRUE(nix::checkStorePathSyntax("/tmp/s", std::string("/tmp/s/") + kHash + "-x").isOk());
  EXPECT_FALSE(nix::checkStorePathSyntax("/tmp/s", sp("x")).isOk());
}

TEST(StorePathTest, MissingPathIsAcceptedForSubstitution) {
  TempDir store = makeTempDir();
  std::string p = store.path().string() + "/" + kHash + "-missing";
  auto r = nix::parseStorePath(store.path(), p);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->string(), p);
}

TEST(StorePathTest, SymlinkOutOfStoreIsRejected) {
  TempDir store = makeTempDir();
  std::string p = store.path().string() + "/" + kHash + "-evil";
  ASSERT_EQ(::symlink("/etc", p.c_str()), 0);
  Status st = nix::parseStorePath(store.path(), p).status();
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("out of the store"), std::string::npos) << st.message();
  std::string rel = store.path().string() + "/" + kHash + "-rel";
  ASSERT_EQ(::symlink("../../etc", rel.c_str()), 0);
  EXPECT_EQ(nix::parseStorePath(store.path(), rel).status().code(), ErrorCode::InvalidArgument);
}

TEST(StorePathTest, SymlinkInsideStoreIsAccepted) {
  TempDir store = makeTempDir();
  std::string target = store.path().string() + "/" + kHash + "-real";
  writeFile(target + "/file", "x");
  std::string p = store.path().string() + "/0000000000000000000000000000000a-link";
  ASSERT_EQ(::symlink(target.c_str(), p.c_str()), 0);
  EXPECT_TRUE(nix::parseStorePath(store.path(), p).isOk());
  std::string self = store.path().string() + "/0000000000000000000000000000000b-self";
  ASSERT_EQ(::symlink(store.path().c_str(), self.c_str()), 0);
  EXPECT_EQ(nix::parseStorePath(store.path(), self).status().code(), ErrorCode::InvalidArgument);
}

TEST(StorePathTest, StoreDirBehindSymlinkStillWorks) {
  TempDir base = makeTempDir();
  fs::create_directories(base.path() / "real");
  fs::path link = base.path() / "store";
  ASSERT_EQ(::symlink((base.path() / "real").c_str(), link.c_str()), 0);
  std::string target = link.string() + "/" + kHash + "-real";
  writeFile(target + "/f", "x");
  std::string p = link.string() + "/0000000000000000000000000000000a-link";
  ASSERT_EQ(::symlink(target.c_str(), p.c_str()), 0);
  EXPECT_TRUE(nix::parseStorePath(link, p).isOk());
}

TEST(StorePathTest, OnDiskCheckRequiresExistenceAndStaysInStore) {
  TempDir store = makeTempDir();
  std::string missing = store.path().string() + "/" + kHash + "-missing";
  Status st = nix::checkStorePathOnDisk(store.path(), missing);
  EXPECT_EQ(st.code(), ErrorCode::FailedPrecondition);
  EXPECT_NE(st.message().find(missing), std::string::npos) << st.message();
  std::string real = store.path().string() + "/0000000000000000000000000000000a-real";
  writeFile(real + "/f", "x");
  EXPECT_TRUE(nix::checkStorePathOnDisk(store.path(), real).isOk());
  std::string inside = store.path().string() + "/0000000000000000000000000000000b-link";
  ASSERT_EQ(::symlink(real.c_str(), inside.c_str()), 0);
  EXPECT_TRUE(nix::checkStorePathOnDisk(store.path(), inside).isOk());
  std::string evil = store.path().string() + "/0000000000000000000000000000000c-evil";
  ASSERT_EQ(::symlink("/etc", evil.c_str()), 0);
  st = nix::checkStorePathOnDisk(store.path(), evil);
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("out of the store"), std::string::npos) << st.message();
  std::string dangling = store.path().string() + "/0000000000000000000000000000000d-dang";
  ASSERT_EQ(::symlink((store.path() / "nothing").c_str(), dangling.c_str()), 0);
  EXPECT_FALSE(nix::checkStorePathOnDisk(store.path(), dangling).isOk());
}

}  // namespace
}  // namespace nixsnap::testing
