#include "image/containerd_loader.h"

#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "image/builder.h"
#include "mocks/containerd_mocks.h"
#include "oci/digest.h"
#include "oci/tar_writer.h"
#include "oci/types.h"
#include "support/test_env.h"

namespace nixsnap::image {
namespace {

using nixsnap::testing::FakeContainerdClient;
using nixsnap::testing::MockContainerdClient;
using ::testing::_;
using ::testing::Return;
using ::testing::StrictMock;

std::string sp(char c, const std::string& name) {
  return "/nix/store/" + std::string(32, c) + "-" + name;
}

class ContainerdLoaderTest : public ::testing::Test {
 protected:
  fs::path build(const std::string& name, const std::string& ref, char path_char = 'a') {
    testing::writeFile(dir_.path() / (name + ".closure"),
                       sp(path_char, "hello") + "\n" + sp('b', "lib") + "\n");
    BuildOptions o;
    o.closure = dir_.path() / (name + ".closure");
    o.ref = ref;
    o.out = dir_.path() / (name + ".tar");
    auto r = buildImage(o);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return o.out;
  }

  /// Writes an OCI layout tar from raw member contents (for hostile archives).
  fs::path rawArchive(const std::string& name, std::vector<oci::TarEntry> entries) {
    fs::path out = dir_.path() / (name + ".tar");
    EXPECT_TRUE(oci::writeDeterministicTar(std::move(entries), out, oci::Compression::None).isOk());
    return out;
  }

  TempDir dir_ = testing::makeTempDir();
  std::shared_ptr<FakeContainerdClient> fake_ = std::make_shared<FakeContainerdClient>();
  ContainerdLoader loader_{fake_, dir_.path()};
  LoadOptions opts_;
};

TEST_F(ContainerdLoaderTest, LoadWritesContentUnpacksWithLabelsAndCreatesImage) {
  auto archive = build("a", "example.com/a:1");
  auto r = loader_.load(archive, opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "example.com/a:1");
  ASSERT_EQ(fake_->images.count("example.com/a:1"), 1u);
  const auto& image = fake_->images["example.com/a:1"];
  EXPECT_EQ(image.target.digest, (*r)[0].manifest_digest);
  EXPECT_EQ(fake_->content.count((*r)[0].config_digest), 1u);

  // One committed snapshot named by the chain ID, prepared with the layer's labels.
  ASSERT_EQ(fake_->snapshots.size(), 1u);
  const auto& [chain, snap] = *fake_->snapshots.begin();
  EXPECT_TRUE(snap.committed);
  EXPECT_EQ(snap.labels.at("containerd.io/snapshot.ref"), chain);
  EXPECT_EQ(snap.labels.at("containerd.io/snapshot/nix-layer"), "true");
  EXPECT_EQ(snap.labels.at("containerd.io/snapshot/nix-store-path.0"), sp('a', "hello"));
  EXPECT_EQ(snap.labels.at("containerd.io/snapshot/nix-store-path.1"), sp('b', "lib"));

  // GC labels as containerd's unpacker sets them.
  const auto& config = fake_->content[(*r)[0].config_digest];
  EXPECT_EQ(config.labels.at("containerd.io/gc.ref.snapshot.nix"), chain);
  const auto& manifest = fake_->content[(*r)[0].manifest_digest];
  EXPECT_EQ(manifest.labels.at("containerd.io/gc.ref.content.config"), (*r)[0].config_digest);
  const std::string layer = manifest.labels.at("containerd.io/gc.ref.content.l.0");
  EXPECT_EQ(fake_->content[layer].labels.at("containerd.io/uncompressed"), chain);
  EXPECT_TRUE(fake_->leases.empty()) << "the lease is released at the end";
  EXPECT_EQ(fake_->leases_created, 1);
}

TEST_F(ContainerdLoaderTest, SecondLoadIsANoOp) {
  auto archive = build("a", "example.com/a:1");
  ASSERT_TRUE(loader_.load(archive, opts_).isOk());
  int writes = fake_->writes;
  int prepares = fake_->prepares;
  ASSERT_TRUE(loader_.load(archive, opts_).isOk());
  EXPECT_EQ(fake_->writes, writes);
  EXPECT_EQ(fake_->prepares, prepares);
  EXPECT_EQ(fake_->leases_created, 1);
}

TEST_F(ContainerdLoaderTest, ChangedArchiveWithSameNameReplacesTarget) {
  auto first = loader_.load(build("a", "example.com/a:1"), opts_);
  auto second = loader_.load(build("b", "example.com/a:1", 'c'), opts_);
  ASSERT_TRUE(first.isOk() && second.isOk());
  EXPECT_NE((*first)[0].manifest_digest, (*second)[0].manifest_digest);
  EXPECT_EQ(fake_->images["example.com/a:1"].target.digest, (*second)[0].manifest_digest);
}

TEST_F(ContainerdLoaderTest, FailedUnpackLeavesNoImageAndNoActiveSnapshot) {
  auto archive = build("a", "example.com/a:1");
  // Find the layer digest by a dry load into another fake.
  auto other = std::make_shared<FakeContainerdClient>();
  ContainerdLoader probe(other, dir_.path());
  auto r = probe.load(archive, opts_);
  ASSERT_TRUE(r.isOk());
  fake_->fail_apply_digest =
      other->content[(*r)[0].manifest_digest].labels["containerd.io/gc.ref.content.l.0"];
  auto failed = loader_.load(archive, opts_);
  EXPECT_EQ(failed.status().code(), ErrorCode::Internal);
  EXPECT_TRUE(fake_->images.empty());
  EXPECT_TRUE(fake_->snapshots.empty()) << "the extract snapshot is removed";
  EXPECT_TRUE(fake_->leases.empty());
}

TEST_F(ContainerdLoaderTest, ExistingLayerAnswerSkipsApplyAndCommit) {
  auto archive = build("a", "example.com/a:1");
  auto mock = std::make_shared<StrictMock<MockContainerdClient>>();
  ContainerdLoader loader(mock, dir_.path());
  EXPECT_CALL(*mock, getImage(_, "example.com/a:1")).WillOnce(Return(notFound("no image")));
  EXPECT_CALL(*mock, createLease(_, _, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*mock, contentInfo(_, _)).WillRepeatedly(Return(notFound("absent")));
  EXPECT_CALL(*mock, writeContent(_, _, _, _, _, _)).Times(3).WillRepeatedly(Return(Status::ok()));
  EXPECT_CALL(*mock, statSnapshot(_, "nix", _)).WillOnce(Return(notFound("no snapshot")));
  EXPECT_CALL(*mock, prepareSnapshot(_, "nix", _, "", _))
      .WillOnce(Return(alreadyExists("target snapshot exists")));
  EXPECT_CALL(*mock, createImage(_, _)).WillOnce(Return(containerd::Image{}));
  EXPECT_CALL(*mock, deleteLease(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_TRUE(loader.load(archive, opts_).isOk());
}

TEST_F(ContainerdLoaderTest, WithoutArchiveNamesOnlyTheGivenNamesAreTouched) {
  // An archive naming an existing image (e.g. the pause image) must not re-point it.
  auto victim = loader_.load(build("v", "registry.k8s.io/pause:3.9"), opts_);
  ASSERT_TRUE(victim.isOk());
  const std::string victim_target = fake_->images.at("registry.k8s.io/pause:3.9").target.digest;

  LoadOptions cri = opts_;
  cri.extra_names = {"nix:0/nix/store/" + std::string(32, 'e') + "-nix-image-evil.tar:latest"};
  cri.archive_names = false;
  auto r = loader_.load(build("evil", "registry.k8s.io/pause:3.9", 'c'), cri);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, cri.extra_names[0]);
  EXPECT_EQ(fake_->images.at("registry.k8s.io/pause:3.9").target.digest, victim_target);
  EXPECT_EQ(fake_->images.size(), 2u);

  // With archive names (nix2container load, like docker load) the name is updated.
  auto plain = loader_.load(build("evil2", "registry.k8s.io/pause:3.9", 'd'), opts_);
  ASSERT_TRUE(plain.isOk());
  EXPECT_NE(fake_->images.at("registry.k8s.io/pause:3.9").target.digest, victim_target);
}

TEST_F(ContainerdLoaderTest, UnnamedArchiveGetsADeterministicName) {
  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  std::string cd = oci::digestOf(config);
  oci::Manifest m;
  m.config = {std::string(oci::media::kOciConfig), cd, static_cast<int64_t>(config.size()), {}, {}};
  std::string mj = oci::toJson(m);
  oci::Index idx;
  idx.manifests.push_back({std::string(oci::media::kOciManifest),
                           oci::digestOf(mj),
                           static_cast<int64_t>(mj.size()),
                           {},
                           {}});
  auto archive = rawArchive(
      "unnamed",
      {{"index.json", oci::TarEntry::Type::File, 0644, "", oci::toJson(idx), {}},
       {"blobs/sha256/" + oci::digestHex(cd), oci::TarEntry::Type::File, 0644, "", config, {}},
       {"blobs/sha256/" + oci::digestHex(oci::digestOf(mj)),
        oci::TarEntry::Type::File,
        0644,
        "",
        mj,
        {}}});
  auto r1 = loader_.load(archive, opts_);
  ASSERT_TRUE(r1.isOk()) << r1.status().toString();
  EXPECT_EQ((*r1)[0].name, "nix2container.local/import:" + oci::digestHex(oci::digestOf(mj)));
}

struct BadArchive {
  std::string name;
  std::string expect_in_message;
};

class ContainerdLoaderBadInputTest : public ContainerdLoaderTest {
 protected:
  /// A valid single-layer archive's members, to be broken by each test.
  std::vector<oci::TarEntry> members(std::string layer = "layer-bytes",
                                     std::string layer_media = "", std::string config = "") {
    config_ = !config.empty()
                  ? config
                  : R"({"architecture":")" + oci::hostPlatform().architecture +
                        R"(","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                        oci::digestOf("x") + R"("]}})";
    oci::Manifest m;
    m.config = {std::string(oci::media::kOciConfig),
                oci::digestOf(config_),
                static_cast<int64_t>(config_.size()),
                {},
                {}};
    m.layers.push_back({layer_media.empty() ? std::string(oci::media::kOciLayerGzip) : layer_media,
                        oci::digestOf("layer-bytes"),
                        11,
                        {},
                        {}});
    manifest_ = oci::toJson(m);
    oci::Index idx;
    idx.manifests.push_back({std::string(oci::media::kOciManifest),
                             oci::digestOf(manifest_),
                             static_cast<int64_t>(manifest_.size()),
                             {{"io.containerd.image.name", "bad:1"}},
                             {}});
    index_ = oci::toJson(idx);
    return {{"index.json", oci::TarEntry::Type::File, 0644, "", index_, {}},
            {blob(config_), oci::TarEntry::Type::File, 0644, "", config_, {}},
            {blob(manifest_), oci::TarEntry::Type::File, 0644, "", manifest_, {}},
            {"blobs/sha256/" + oci::digestHex(oci::digestOf("layer-bytes")),
             oci::TarEntry::Type::File,
             0644,
             "",
             layer,
             {}}};
  }
  static std::string blob(const std::string& content) {
    return "blobs/sha256/" + oci::digestHex(oci::digestOf(content));
  }
  void expectRejected(std::vector<oci::TarEntry> entries, const std::string& needle) {
    auto r = loader_.load(rawArchive("bad", std::move(entries)), opts_);
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument) << r.status().toString();
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().toString();
    EXPECT_TRUE(fake_->images.empty());
    EXPECT_TRUE(fake_->snapshots.empty());
  }
  std::string config_, manifest_, index_;
};

TEST_F(ContainerdLoaderBadInputTest, ValidBaselineLoads) {
  auto r = loader_.load(rawArchive("ok", members()), opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
}

TEST_F(ContainerdLoaderBadInputTest, BlobWithWrongContentIsRejected) {
  expectRejected(members("layer-bytez"), "digest");
}

TEST_F(ContainerdLoaderBadInputTest, BlobWithWrongSizeIsRejected) {
  expectRejected(members("layer-bytes-and-more"), "bytes");
}

TEST_F(ContainerdLoaderBadInputTest, MissingBlobIsRejected) {
  auto m = members();
  m.pop_back();
  expectRejected(m, "missing blob");
}

TEST_F(ContainerdLoaderBadInputTest, UnknownMediaTypeIsRejected) {
  expectRejected(members("layer-bytes", "application/x-unknown"), "application/x-unknown");
}

TEST_F(ContainerdLoaderBadInputTest, IndexWithNoOrSeveralManifestsIsRejected) {
  auto m = members();
  m[0].content = R"({"schemaVersion":2,"manifests":[]})";
  expectRejected(m, "found 0");
  auto m2 = members();
  auto idx = nlohmann::json::parse(index_);
  idx["manifests"].push_back(idx["manifests"][0]);
  m2[0].content = idx.dump();
  expectRejected(m2, "found 2");
}

TEST_F(ContainerdLoaderBadInputTest, ArchiveWithoutIndexOrManifestIsRejected) {
  auto m = members();
  m.erase(m.begin());
  expectRejected(m, "neither index.json nor manifest.json");
}

TEST_F(ContainerdLoaderBadInputTest, HostileImageNameIsRejected) {
  auto m = members();
  auto idx = nlohmann::json::parse(index_);
  idx["manifests"][0]["annotations"]["io.containerd.image.name"] = "bad ref!!";
  m[0].content = idx.dump();
  expectRejected(m, "bad ref!!");
}

TEST_F(ContainerdLoaderBadInputTest, StorePathAnnotationsWithoutNixLayerAreRejected) {
  auto m = members();
  auto man = nlohmann::json::parse(manifest_);
  man["layers"][0]["annotations"]["containerd.io/snapshot/nix-store-path.0"] =
      "/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a";
  std::string bad_manifest = man.dump();
  auto idx = nlohmann::json::parse(index_);
  idx["manifests"][0]["digest"] = oci::digestOf(bad_manifest);
  idx["manifests"][0]["size"] = bad_manifest.size();
  m[0].content = idx.dump();
  m[2] = {blob(bad_manifest), oci::TarEntry::Type::File, 0644, "", bad_manifest, {}};
  expectRejected(m, "containerd.io/snapshot/nix-layer");
}

// An archive CRI could not use (wrong JSON types, another platform, a bad time) is
// refused before anything reaches containerd (it used to be loaded, refused by CRI, and
// the nix:0 pull ended in DEADLINE_EXCEEDED).
TEST_F(ContainerdLoaderBadInputTest, ConfigCriCannotUseIsRejectedBeforeLoading) {
  auto config = [](const std::function<void(nlohmann::json&)>& mutate) {
    nlohmann::json c = {{"architecture", oci::hostPlatform().architecture},
                        {"os", "linux"},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", {oci::digestOf("x")}}}}};
    mutate(c);
    return c.dump();
  };
  using J = nlohmann::json;
  expectRejected(members("layer-bytes", "", config([](J& c) { c["architecture"] = 5; })),
                 "\"architecture\"");
  expectRejected(members("layer-bytes", "", config([](J& c) { c.erase("rootfs"); })),
                 "\"rootfs.diff_ids\"");
  expectRejected(members("layer-bytes", "", config([](J& c) { c["rootfs"]["diff_ids"] = {7}; })),
                 "\"rootfs.diff_ids\"");
  expectRejected(members("layer-bytes", "", config([](J& c) { c["config"]["Env"] = {1, 2}; })),
                 "\"config.Env\"");
  expectRejected(
      members("layer-bytes", "", config([](J& c) { c["architecture"] = "no-such-arch"; })),
      "no-such-arch");
  expectRejected(members("layer-bytes", "", config([](J& c) { c["created"] = "yesterday"; })),
                 "\"created\"");
}

TEST_F(ContainerdLoaderBadInputTest, MissingArchiveIsNotFound) {
  EXPECT_EQ(loader_.load(dir_.path() / "nope.tar", opts_).status().code(), ErrorCode::NotFound);
}

TEST(ChainIdsTest, FollowContainerdDefinition) {
  std::string a = oci::digestOf("a"), b = oci::digestOf("b");
  auto c = chainIds({a, b});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], a);
  EXPECT_EQ(c[1], oci::digestOf(a + " " + b));
}

}  // namespace
}  // namespace nixsnap::image

namespace nixsnap::image {
namespace {

class ContainerdLoaderFormatsTest : public ContainerdLoaderTest {};

TEST_F(ContainerdLoaderFormatsTest, CompressedArchivesLoad) {
  auto archive = build("c", "example.com/c:1");
  for (const std::string tool : {"gzip", "zstd -q"}) {
    fs::path out = dir_.path() / ("c." + tool.substr(0, 4));
    std::string cmd = tool + " -c " + archive.string() + " > " + out.string();
    if (std::system(cmd.c_str()) != 0) {
      GTEST_SKIP() << tool << " is not installed";
    }
    auto fake = std::make_shared<FakeContainerdClient>();
    ContainerdLoader loader(fake, dir_.path());
    auto r = loader.load(out, opts_);
    ASSERT_TRUE(r.isOk()) << tool << ": " << r.status().toString();
    EXPECT_EQ(fake->images.count("example.com/c:1"), 1u) << tool;
  }
}

TEST_F(ContainerdLoaderFormatsTest, DockerArchiveLoadsWithNormalisedRepoTag) {
  std::string layer = "not really a tar, but the fake does not unpack";
  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
      oci::digestOf("uncompressed") + R"("]}})";
  std::string manifest =
      R"([{"Config":"abc.json","RepoTags":["hello:1"],"Layers":["l1/layer.tar"]}])";
  auto archive =
      rawArchive("docker", {{"manifest.json", oci::TarEntry::Type::File, 0644, "", manifest, {}},
                            {"abc.json", oci::TarEntry::Type::File, 0644, "", config, {}},
                            {"l1/layer.tar", oci::TarEntry::Type::File, 0644, "", layer, {}}});
  auto r = loader_.load(archive, opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].name, "docker.io/library/hello:1");
  EXPECT_EQ((*r)[0].config_digest, oci::digestOf(config));
  ASSERT_EQ(fake_->snapshots.size(), 1u);
}

TEST_F(ContainerdLoaderFormatsTest, DockerArchiveWithHostileRepoTagIsRejected) {
  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
      oci::digestOf("uncompressed") + R"("]}})";
  std::string manifest =
      R"([{"Config":"abc.json","RepoTags":["../Evil Tag"],"Layers":["l1/layer.tar"]}])";
  auto archive =
      rawArchive("dockerbad", {{"manifest.json", oci::TarEntry::Type::File, 0644, "", manifest, {}},
                               {"abc.json", oci::TarEntry::Type::File, 0644, "", config, {}},
                               {"l1/layer.tar", oci::TarEntry::Type::File, 0644, "", "x", {}}});
  auto r = loader_.load(archive, opts_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("Evil Tag"), std::string::npos) << r.status().toString();
  EXPECT_TRUE(fake_->images.empty());
}

TEST_F(ContainerdLoaderFormatsTest, DockerArchiveWithSeveralImagesIsRejected) {
  auto archive = rawArchive(
      "docker2", {{"manifest.json", oci::TarEntry::Type::File, 0644, "", "[{},{}]", {}}});
  auto r = loader_.load(archive, opts_);
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.status().message().find("found 2"), std::string::npos);
}

}  // namespace
}  // namespace nixsnap::image
