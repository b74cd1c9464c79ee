#include "image/builder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/scope_guard.h"
#include "oci/archive_reader.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/tar_writer.h"
#include "oci/types.h"
#include "support/test_env.h"

namespace nixsnap::image {
namespace {

class BuilderTest : public ::testing::Test {
 protected:
  /// A store path (a directory) in the test's own store: the builder refuses absent ones.
  std::string sp(char c, const std::string& name) {
    fs::path p = store_ / (std::string(32, c) + "-" + name);
    fs::create_directories(p);
    return p.string();
  }

  /// `tar -tv` lines of the archive's last (Nix) layer.
  std::string layerListing(const oci::Layout& l) {
    fs::path blob = l.blobPath(l.image.manifest.layers.back().digest);
    std::string out;
    FILE* f = ::popen(("tar -tvzf " + blob.string()).c_str(), "r");
    char buf[512];
    while (f != nullptr && std::fgets(buf, sizeof(buf), f) != nullptr) {
      out += buf;
    }
    if (f != nullptr) {
      ::pclose(f);
    }
    return out;
  }

  /// The mode column of the listing line whose path is `path`, or "".
  static std::string modeOf(const std::string& listing, const std::string& path) {
    size_t pos = 0;
    while (pos < listing.size()) {
      size_t end = listing.find('\n', pos);
      std::string line = listing.substr(pos, end - pos);
      pos = end == std::string::npos ? listing.size() : end + 1;
      if (line.size() > path.size() &&
          line.compare(line.size() - path.size(), path.size(), path) == 0 &&
          line[line.size() - path.size() - 1] == ' ') {
        return line.substr(0, 10);
      }
    }
    return "";
  }

  void SetUp() override {
    opts_.store_dir = store_;
    testing::writeFile(dir_.path() / "closure",
                       sp('b', "hello") + "\n" + sp('a', "lib") + "\n" + sp('c', "config") + "\n");
    testing::writeFile(dir_.path() / "config.json", R"({"entrypoint":["/bin/hello"]})");
    opts_.closure = dir_.path() / "closure";
    opts_.config = dir_.path() / "config.json";
    opts_.out = dir_.path() / "out.tar";
    opts_.ref = "example.com/hello:1";
  }

  oci::Layout open(const fs::path& archive) {
    fs::path x = dir_.path() / ("x" + std::to_string(n_++));
    fs::create_directories(x);
    EXPECT_TRUE(oci::extractImageArchive(archive, x).isOk());
    auto l = oci::openLayout(x);
    EXPECT_TRUE(l.isOk()) << l.status().toString();
    return *l;
  }

  TempDir dir_ = testing::makeTempDir();
  fs::path store_ = dir_.path() / "nix/store";
  BuildOptions opts_;
  int n_ = 0;
};

TEST_F(BuilderTest, NixLayerAnnotationsFollowClosureOrder) {
  auto r = buildImage(opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  auto l = open(opts_.out);
  ASSERT_EQ(l.image.manifest.layers.size(), 1u);
  const auto& a = l.image.manifest.layers[0].annotations;
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-layer"), "true");
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-store-path.0"), sp('b', "hello"));
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-store-path.1"), sp('a', "lib"));
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-store-path.2"), sp('c', "config"));
  EXPECT_EQ(l.image.names, std::vector<std::string>{"example.com/hello:1"});
  EXPECT_EQ(r->manifest_digest, l.image.manifest_desc.digest);
  auto config = nlohmann::json::parse(l.image.config_json);
  EXPECT_EQ(config["config"]["Entrypoint"][0], "/bin/hello");
  EXPECT_EQ(config["os"], "linux");
}

TEST_F(BuilderTest, ConfigFilesOwnStorePathIsLeftOut) {
  fs::path store = dir_.path() / "store";
  std::string cfg = (store / (std::string(32, 'd') + "-cfg.json")).string();
  std::string app = (store / (std::string(32, 'b') + "-app")).string();
  testing::writeFile(cfg, "{}");
  fs::create_directories(app);
  testing::writeFile(dir_.path() / "closure2", cfg + "\n" + app + "\n");
  opts_.store_dir = store;
  opts_.closure = dir_.path() / "closure2";
  opts_.config = cfg;
  auto built = buildImage(opts_);
  ASSERT_TRUE(built.isOk()) << built.status().toString();
  const auto a = open(opts_.out).image.manifest.layers.at(0).annotations;
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-store-path.0"), app);
  EXPECT_EQ(a.count("containerd.io/snapshot/nix-store-path.1"), 0u);
}

TEST_F(BuilderTest, PlainListFileGivesTheLegacyFormat) {
  ASSERT_TRUE(buildImage(opts_).isOk());
  const auto a = open(opts_.out).image.manifest.layers.at(0).annotations;
  EXPECT_EQ(a.count("containerd.io/snapshot/nix-closure"), 0u);
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-layer"), "true");
}

/// A closureInfo output as nixpkgs makes it: store-paths (the config file's own store
/// path included, as buildImage roots it) and registration.
class BuilderClosureInfoTest : public BuilderTest {
 protected:
  void SetUp() override {
    BuilderTest::SetUp();
    cfg_ = (store_ / (std::string(32, 'd') + "-cfg.json")).string();
    testing::writeFile(cfg_, R"({"Entrypoint":["/bin/hello"]})");
    info_ = store_ / (std::string(32, 'i') + "-closure-info");
    testing::writeFile(info_ / "store-paths",
                       cfg_ + "\n" + sp('a', "lib") + "\n" + sp('b', "hello") + "\n");
    testing::writeFile(info_ / "registration", "");
    opts_.config = cfg_;
    opts_.closure = info_ / "store-paths";
  }
  std::string cfg_;
  fs::path info_;
};

TEST_F(BuilderClosureInfoTest, StorePathsOfAClosureInfoGiveTheClosureFormatByDefault) {
  auto r = buildImage(opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->nix_closure, info_.string());
  auto l = open(opts_.out);
  const auto& a = l.image.manifest.layers.at(0).annotations;
  EXPECT_EQ(
      a,
      (std::map<std::string, std::string>{{"containerd.io/snapshot/nix-closure", info_.string()}}));
  // The snapshotter binds every line of store-paths: each has its mountpoint, the config
  // file (a regular file) included.
  std::string listing = layerListing(l);
  std::string rel = store_.string().substr(1);
  EXPECT_EQ(modeOf(listing, rel + "/" + std::string(32, 'a') + "-lib/"), "dr-xr-xr-x");
  EXPECT_EQ(modeOf(listing, rel + "/" + std::string(32, 'b') + "-hello/"), "dr-xr-xr-x");
  EXPECT_EQ(modeOf(listing, cfg_.substr(1)), "-r--r--r--") << listing;
  EXPECT_EQ(modeOf(listing, info_.string().substr(1) + "/"), "")
      << "nothing is mounted on the closureInfo path itself: no mountpoint";
}

TEST_F(BuilderClosureInfoTest, TheClosureInfoDirectoryItselfIsAccepted) {
  opts_.closure = info_;
  auto r = buildImage(opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(open(opts_.out).image.manifest.layers.at(0).annotations.at(
                "containerd.io/snapshot/nix-closure"),
            info_.string());
}

TEST_F(BuilderClosureInfoTest, OutLinkToTheClosureInfoIsResolved) {
  fs::create_symlink(info_, dir_.path() / "result");
  opts_.closure = dir_.path() / "result/store-paths";
  auto r = buildImage(opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->nix_closure, info_.string());
}

TEST_F(BuilderClosureInfoTest, LegacyFlagWritesOnePathAnnotationPerStorePath) {
  opts_.legacy_nix_layer = true;
  auto r = buildImage(opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_TRUE(r->nix_closure.empty());
  const auto a = open(opts_.out).image.manifest.layers.at(0).annotations;
  EXPECT_EQ(a.count("containerd.io/snapshot/nix-closure"), 0u);
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-layer"), "true");
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-store-path.0"),
            (store_ / (std::string(32, 'a') + "-lib")).string());
  EXPECT_EQ(a.at("containerd.io/snapshot/nix-store-path.1"),
            (store_ / (std::string(32, 'b') + "-hello")).string());
  EXPECT_EQ(a.count("containerd.io/snapshot/nix-store-path.2"), 0u) << "config file left out";
}

TEST_F(BuilderClosureInfoTest, DirectoryThatIsNoClosureInfoIsRefused) {
  fs::create_directories(dir_.path() / "plain");
  testing::writeFile(dir_.path() / "plain/store-paths", sp('a', "lib") + "\n");
  opts_.closure = dir_.path() / "plain";
  auto r = buildImage(opts_);
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("closureInfo"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(opts_.out));
  // A list file named store-paths outside the store is a plain list: legacy format.
  opts_.closure = dir_.path() / "plain/store-paths";
  auto legacy = buildImage(opts_);
  ASSERT_TRUE(legacy.isOk()) << legacy.status().toString();
  EXPECT_TRUE(legacy->nix_closure.empty());
}

TEST_F(BuilderClosureInfoTest, ClosurePathMissingAtBuildTimeIsRefusedNamingIt) {
  std::string gone = (store_ / (std::string(32, 'g') + "-gone")).string();
  testing::writeFile(info_ / "store-paths", sp('a', "lib") + "\n" + gone + "\n");
  auto r = buildImage(opts_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
  EXPECT_NE(r.status().message().find(gone), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(opts_.out));
}

TEST_F(BuilderTest, DefaultNameIsNixZeroOfTheOutputPath) {
  // The temp dir name is mixed case, which no image name may be: use a lowercase one.
  fs::path lc = fs::temp_directory_path() / ("nixsnap-ut-lc-" + std::to_string(::getpid()));
  fs::create_directories(lc);
  ScopeGuard cleanup([&] { fs::remove_all(lc); });
  opts_.ref.clear();
  opts_.out = lc / "out.tar";
  auto r = buildImage(opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  auto l = open(opts_.out);
  EXPECT_EQ(l.image.names.at(0), "nix:0" + opts_.out.string() + ":latest");
}

TEST_F(BuilderTest, InvalidRefIsRefusedBeforeWritingOutput) {
  opts_.ref = "bad ref!!";
  auto r = buildImage(opts_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("bad ref!!"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(opts_.out));
}

TEST_F(BuilderTest, OutPathThatCannotBeADefaultNameSuggestsRef) {
  opts_.ref.clear();
  opts_.out = dir_.path() / "My Image.tar";
  auto r = buildImage(opts_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find(opts_.out.string()), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("--ref"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(opts_.out));
}

TEST_F(BuilderTest, OutputIsByteIdenticalAcrossUmaskAndTmpdir) {
  ASSERT_TRUE(buildImage(opts_).isOk());
  std::string first = testing::readFile(opts_.out);
  fs::create_directories(dir_.path() / "othertmp");
  BuildOptions o2 = opts_;
  o2.tmp_dir = dir_.path() / "othertmp";
  mode_t old = ::umask(0077);
  auto r = buildImage(o2);
  ::umask(old);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(testing::readFile(opts_.out), first);
  struct stat st {};
  ASSERT_EQ(::stat(opts_.out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(BuilderTest, FromImageLayersComeFirstAndNixAnnotationsSurvive) {
  BuildOptions base = opts_;
  base.out = dir_.path() / "base.tar";
  ASSERT_TRUE(buildImage(base).isOk());
  testing::writeFile(dir_.path() / "closure3", sp('f', "app") + "\n");
  opts_.closure = dir_.path() / "closure3";
  opts_.from_image = base.out;
  testing::writeFile(dir_.path() / "config2.json", R"({"Env":["X=1"]})");
  opts_.config = dir_.path() / "config2.json";
  auto built = buildImage(opts_);
  ASSERT_TRUE(built.isOk()) << built.status().toString();
  auto l = open(opts_.out);
  ASSERT_EQ(l.image.manifest.layers.size(), 2u);
  EXPECT_EQ(l.image.manifest.layers[0].annotations.at("containerd.io/snapshot/nix-store-path.0"),
            sp('b', "hello"));
  EXPECT_EQ(l.image.manifest.layers[1].annotations.at("containerd.io/snapshot/nix-store-path.0"),
            sp('f', "app"));
  auto config = nlohmann::json::parse(l.image.config_json);
  EXPECT_EQ(config["config"]["Entrypoint"][0], "/bin/hello") << "base config kept";
  EXPECT_EQ(config["config"]["Env"][0], "X=1");
  EXPECT_EQ(config["rootfs"]["diff_ids"].size(), 2u);
}

// Rebuilds the archive `in` as `out` with its image config replaced by `mutate(config)`
// (digests recomputed), the way a hostile base image would be made.
void rewriteConfig(const fs::path& in, const fs::path& out, const fs::path& work,
                   const std::function<void(nlohmann::json&)>& mutate) {
  fs::create_directories(work);
  ASSERT_TRUE(oci::extractImageArchive(in, work).isOk());
  auto l = oci::openLayout(work);
  ASSERT_TRUE(l.isOk()) << l.status().toString();
  auto config = nlohmann::json::parse(l->image.config_json);
  mutate(config);
  std::string config_json = config.dump();
  oci::Manifest m = l->image.manifest;
  m.config.digest = oci::digestOf(config_json);
  m.config.size = static_cast<int64_t>(config_json.size());
  std::string manifest_json = oci::toJson(m);
  oci::Index index;
  index.manifests.push_back(l->image.manifest_desc);
  index.manifests[0].digest = oci::digestOf(manifest_json);
  index.manifests[0].size = static_cast<int64_t>(manifest_json.size());
  using oci::TarEntry;
  std::vector<TarEntry> e = {
      {"oci-layout", TarEntry::Type::File, 0644, "", R"({"imageLayoutVersion":"1.0.0"})", {}},
      {"index.json", TarEntry::Type::File, 0644, "", oci::toJson(index), {}},
      {"blobs/sha256/" + oci::digestHex(m.config.digest),
       TarEntry::Type::File,
       0644,
       "",
       config_json,
       {}},
      {"blobs/sha256/" + oci::digestHex(index.manifests[0].digest),
       TarEntry::Type::File,
       0644,
       "",
       manifest_json,
       {}}};
  for (const auto& layer : m.layers) {
    e.push_back({"blobs/sha256/" + oci::digestHex(layer.digest), TarEntry::Type::File, 0644, "", "",
                 l->blobPath(layer.digest)});
  }
  ASSERT_TRUE(oci::writeDeterministicTar(std::move(e), out, oci::Compression::None).isOk());
}

// A base whose config has wrong JSON types used to abort nix2container (a json
// type_error escaping: std::terminate, exit 134) or be accepted silently.
TEST_F(BuilderTest, FromImageConfigWithWrongTypesIsInvalidArgumentNamingTheField) {
  BuildOptions base = opts_;
  base.out = dir_.path() / "base.tar";
  ASSERT_TRUE(buildImage(base).isOk());
  struct Case {
    std::function<void(nlohmann::json&)> mutate;
    const char* field;
  };
  std::vector<Case> cases = {
      {[](nlohmann::json& c) { c["architecture"] = 5; }, "\"architecture\""},
      // Go's null: no architecture (read as absent, not a type_error escaping).
      {[](nlohmann::json& c) { c["architecture"] = nullptr; }, "is for linux/, this machine"},
      {[](nlohmann::json& c) {
         c["config"]["Env"] = {1, 2};
       },
       "\"config.Env\""},
      {[](nlohmann::json& c) { c["config"] = "x"; }, "\"config\""},
      {[](nlohmann::json& c) { c = nlohmann::json::array(); },
       "image config must be a JSON object, got array"},
      {[](nlohmann::json& c) {
         c["config"]["Entrypoint"] = {"/bin/sh", std::string("a\0b", 3)};
       },
       "\"config.Entrypoint\" element 1 contains a NUL"},
      {[](nlohmann::json& c) {
         c["config"]["Labels"] = {{std::string("k\0", 2), "v"}};
       },
       "\"config.Labels\" label \"k\\u0000\" contains a NUL"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    fs::path bad = dir_.path() / ("bad" + std::to_string(i) + ".tar");
    rewriteConfig(base.out, bad, dir_.path() / ("w" + std::to_string(i)), cases[i].mutate);
    opts_.from_image = bad;
    opts_.out = dir_.path() / ("out" + std::to_string(i) + ".tar");
    auto r = buildImage(opts_);
    ASSERT_FALSE(r.isOk()) << cases[i].field;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.status().message().find(cases[i].field), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("--from-image"), std::string::npos) << r.status().message();
    EXPECT_FALSE(fs::exists(opts_.out));
  }
}

TEST_F(BuilderTest, BadInputsFailWithoutLeavingOutput) {
  testing::writeFile(dir_.path() / "bad", sp('a', "x") + "\n/usr/bin\n");
  opts_.closure = dir_.path() / "bad";
  auto r = buildImage(opts_);
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("/usr/bin"), std::string::npos);
  EXPECT_FALSE(fs::exists(opts_.out));
  opts_.closure = dir_.path() / "missing";
  EXPECT_EQ(buildImage(opts_).status().code(), ErrorCode::NotFound);
}

TEST_F(BuilderTest, CopyToRootOutsideTheClosureIsRefusedWithoutLeavingOutput) {
  std::string stray = sp('g', "stray");
  testing::writeFile(dir_.path() / "roots.json",
                     "[\"" + sp('b', "hello") + "\",\"" + stray + "\"]");
  opts_.copy_to_root = dir_.path() / "roots.json";
  auto r = buildImage(opts_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find(stray + " is not in the closure"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(opts_.out));
}

TEST_F(BuilderTest, ConfigTooLargeForReadersIsRefusedBeforeWritingOutput) {
  // Under the 16 MiB input cap, over the 4 MiB a reader of the image accepts.
  testing::writeFile(dir_.path() / "big.json",
                     R"({"Env":["A=)" + std::string(5 << 20, 'x') + R"("]})");
  opts_.config = dir_.path() / "big.json";
  auto r = buildImage(opts_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("more than the 4194304"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(opts_.out));
}

TEST_F(BuilderTest, ImageConfigGolden) {
  opts_.ref = "golden:1";
  ASSERT_TRUE(buildImage(opts_).isOk());
  auto l = open(opts_.out);
  auto config = nlohmann::json::parse(l.image.config_json);
  config["architecture"] = "ARCH";  // the golden is the same on every machine
  // The layer names the test's own (temporary) store dir; the ByteIdentical test covers
  // the diff ID's determinism.
  config["rootfs"]["diff_ids"][0] = "DIFF_ID";
  testing::expectGolden("nix2container_config.json", config.dump(2) + "\n");
}

}  // namespace
}  // namespace nixsnap::image
