#include "image/containerd_loader.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "image/builder.h"
#include "mocks/common_mocks.h"
#include "mocks/containerd_mocks.h"
#include "oci/digest.h"
#include "oci/tar_writer.h"
#include "oci/types.h"
#include "recording_progress.h"
#include "support/test_env.h"

namespace nixsnap::image {
namespace {

using nixsnap::testing::FakeContainerdClient;
using nixsnap::testing::MockContainerdClient;
using ::testing::_;
using ::testing::Return;
using ::testing::StrictMock;

class ContainerdLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override { opts_.store_dir = store_.string(); }

  /// A store path in the test's own store (the builder refuses absent ones).
  std::string sp(char c, const std::string& name) {
    fs::path p = store_ / (std::string(32, c) + "-" + name);
    fs::create_directories(p);
    return p.string();
  }

  fs::path build(const std::string& name, const std::string& ref, char path_char = 'a') {
    testing::writeFile(dir_.path() / (name + ".closure"),
                       sp(path_char, "hello") + "\n" + sp('b', "lib") + "\n");
    BuildOptions o;
    o.closure = dir_.path() / (name + ".closure");
    o.ref = ref;
    o.out = dir_.path() / (name + ".tar");
    o.store_dir = store_;
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
  fs::path store_ = dir_.path() / "nix/store";
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
  EXPECT_EQ(fake_->commit_labels.at(chain), snap.labels) << "Commit gets the labels too";

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

/// The chain ID of `archive`'s single layer, found by a load into another fake.
std::string onlyChain(const fs::path& archive, const LoadOptions& opts, const fs::path& tmp) {
  auto probe = std::make_shared<FakeContainerdClient>();
  ContainerdLoader loader(probe, tmp);
  EXPECT_TRUE(loader.load(archive, opts).isOk());
  EXPECT_EQ(probe->snapshots.size(), 1u);
  return probe->snapshots.begin()->first;
}

// containerd 1.7: `ctr image import` unpacked the same layer without annotations, so a
// snapshot named by the chain ID exists without labels. Reusing it would leave the
// image's store paths unrealised and unmounted: it is replaced.
TEST_F(ContainerdLoaderTest, LabelLessSnapshotOfAnOrdinaryImportIsReplaced) {
  auto archive = build("a", "example.com/a:1");
  std::string chain = onlyChain(archive, opts_, dir_.path());
  fake_->snapshots[chain] = {"", true, {{"containerd.io/snapshot.ref", chain}}};
  auto progress = std::make_shared<testing::RecordingProgress>();
  opts_.progress = progress;
  auto r = loader_.load(archive, opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(fake_->snapshots.count(chain), 1u);
  const auto& labels = fake_->snapshots[chain].labels;
  EXPECT_EQ(labels.at("containerd.io/snapshot/nix-layer"), "true");
  EXPECT_EQ(labels.at("containerd.io/snapshot/nix-store-path.0"), sp('a', "hello"));
  EXPECT_EQ(fake_->removes, 1);
  EXPECT_EQ(progress->count(ProgressEvent::Kind::LayerReplaced), 1u);
  EXPECT_EQ(progress->count(ProgressEvent::Kind::LayerUnpacked), 1u);
}

TEST_F(ContainerdLoaderTest, LabelLessSnapshotIsReplacedEvenWhenTheImageIsAlreadyNamed) {
  auto archive = build("a", "example.com/a:1");
  ASSERT_TRUE(loader_.load(archive, opts_).isOk());
  std::string chain = fake_->snapshots.begin()->first;
  fake_->snapshots[chain].labels = {{"containerd.io/snapshot.ref", chain}};
  ASSERT_TRUE(loader_.load(archive, opts_).isOk());
  EXPECT_EQ(fake_->snapshots[chain].labels.count("containerd.io/snapshot/nix-layer"), 1u)
      << "the fast path must not keep a snapshot without its Nix labels";
}

// Same layer bytes already unpacked for another image with other Nix labels (e.g. the
// legacy and the closure format of one closure): containerd keys the snapshot by chain ID
// alone, so both images use it; replacing it would take its roots from the other image.
TEST_F(ContainerdLoaderTest, SnapshotWithOtherNixLabelsIsReusedNotReplaced) {
  auto archive = build("a", "example.com/a:1");
  std::string chain = onlyChain(archive, opts_, dir_.path());
  const std::string closure = sp('z', "closure-info");
  fake_->snapshots[chain] = {"", true, {{"containerd.io/snapshot/nix-closure", closure}}};
  ASSERT_TRUE(loader_.load(archive, opts_).isOk());
  EXPECT_EQ(fake_->removes, 0);
  EXPECT_EQ(fake_->snapshots[chain].labels.at("containerd.io/snapshot/nix-closure"), closure);
  EXPECT_EQ(fake_->snapshots[chain].labels.count("containerd.io/snapshot/nix-layer"), 0u);
  EXPECT_EQ(fake_->images.size(), 1u);
}

TEST_F(ContainerdLoaderTest, LabelLessSnapshotWithChildrenFailsSayingHowToClearIt) {
  auto archive = build("a", "example.com/a:1");
  std::string chain = onlyChain(archive, opts_, dir_.path());
  fake_->snapshots[chain] = {"", true, {}};
  fake_->snapshots["container-rootfs"] = {chain, false, {}};
  auto r = loader_.load(archive, opts_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::FailedPrecondition) << r.status().toString();
  EXPECT_NE(r.status().message().find(chain), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("snapshots --snapshotter nix rm"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(fake_->images.empty());
  EXPECT_EQ(fake_->snapshots.size(), 2u) << "nothing else removed";
}

TEST_F(ContainerdLoaderTest, SnapshotCarryingItsLabelsIsReusedNotReplaced) {
  auto archive = build("a", "example.com/a:1");
  ASSERT_TRUE(loader_.load(archive, opts_).isOk());
  fake_->images.clear();
  auto progress = std::make_shared<testing::RecordingProgress>();
  opts_.progress = progress;
  ASSERT_TRUE(loader_.load(archive, opts_).isOk());
  EXPECT_EQ(fake_->removes, 0);
  EXPECT_EQ(progress->count(ProgressEvent::Kind::LayerSkipped), 1u);
  EXPECT_EQ(progress->count(ProgressEvent::Kind::BlobSkipped), 3u);
  EXPECT_EQ(progress->count(ProgressEvent::Kind::LayerUnpacked), 0u);
}

TEST_F(ContainerdLoaderTest, FreshLoadReportsEachBlobLayerAndName) {
  auto archive = build("a", "example.com/a:1");
  auto progress = std::make_shared<testing::RecordingProgress>();
  opts_.progress = progress;
  auto r = loader_.load(archive, opts_);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  using K = ProgressEvent::Kind;
  EXPECT_EQ(progress->kinds(), (std::vector<K>{K::BlobStarted, K::BlobWritten, K::BlobStarted,
                                               K::BlobWritten, K::BlobStarted, K::BlobWritten,
                                               K::LayerStarted, K::LayerUnpacked, K::ImageNamed}));
  const auto& unpacked = progress->events[7];
  EXPECT_EQ(unpacked.index, 1u);
  EXPECT_EQ(unpacked.count, 1u);
  EXPECT_EQ(progress->events[8].name, "example.com/a:1");
  EXPECT_EQ(progress->events[8].digest, (*r)[0].manifest_digest);
}

TEST_F(ContainerdLoaderTest, ClosureFormatLayerIsUnpackedWithItsClosureLabel) {
  fs::path info = sp('i', "closure-info");
  testing::writeFile(info / "store-paths", sp('a', "hello") + "\n" + sp('b', "lib") + "\n");
  BuildOptions o;
  o.closure = info / "store-paths";
  o.ref = "example.com/closure:1";
  o.out = dir_.path() / "closure.tar";
  o.store_dir = store_;
  ASSERT_TRUE(buildImage(o).isOk());
  ASSERT_TRUE(loader_.load(o.out, opts_).isOk());
  ASSERT_EQ(fake_->snapshots.size(), 1u);
  const auto& labels = fake_->snapshots.begin()->second.labels;
  EXPECT_EQ(labels.at("containerd.io/snapshot/nix-closure"), info.string());
  EXPECT_EQ(labels.count("containerd.io/snapshot/nix-layer"), 0u);
}

TEST_F(ContainerdLoaderTest, ExistingLayerAnswerSkipsApplyAndCommit) {
  auto archive = build("a", "example.com/a:1");
  auto mock = std::make_shared<StrictMock<MockContainerdClient>>();
  ContainerdLoader loader(mock, dir_.path());
  EXPECT_CALL(*mock, getImage(_, "example.com/a:1")).WillOnce(Return(notFound("no image")));
  EXPECT_CALL(*mock, createLease(_, _, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*mock, contentInfo(_, _)).WillRepeatedly(Return(notFound("absent")));
  EXPECT_CALL(*mock, writeContent(_, _, _, _, _, _)).Times(3).WillRepeatedly(Return(Status::ok()));
  // Once for the label check before the fast path, once before the layer's Prepare.
  EXPECT_CALL(*mock, statSnapshot(_, "nix", _))
      .Times(2)
      .WillRepeatedly(Return(notFound("no snapshot")));
  EXPECT_CALL(*mock, prepareSnapshot(_, "nix", _, "", _))
      .WillOnce(Return(alreadyExists("target snapshot exists")));
  EXPECT_CALL(*mock, createImage(_, _)).WillOnce(Return(containerd::Image{}));
  EXPECT_CALL(*mock, deleteLease(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_TRUE(loader.load(archive, opts_).isOk());
}

// Lease and unpack-key names come from the injected randomness, the lease's expiry from
// the injected clock.
TEST_F(ContainerdLoaderTest, LeaseAndKeyNamesAndExpiryComeFromTheInjectedSeams) {
  auto archive = build("a", "example.com/a:1");
  auto mock = std::make_shared<StrictMock<MockContainerdClient>>();
  auto clock = std::make_shared<::nixsnap::testing::ManualClock>();  // 2026-01-01T00:00:00Z
  ContainerdLoader loader(mock, dir_.path(), clock,
                          std::make_shared<::nixsnap::testing::CountingRandom>());
  EXPECT_CALL(*mock, getImage(_, "example.com/a:1")).WillOnce(Return(notFound("no image")));
  EXPECT_CALL(
      *mock,
      createLease(_, "nix2container-1000000000000000",
                  containerd::StringMap{{"containerd.io/gc.expire", "2026-01-02T00:00:00Z"}}))
      .WillOnce(Return(Status::ok()));
  EXPECT_CALL(*mock, contentInfo(_, _)).WillRepeatedly(Return(notFound("absent")));
  EXPECT_CALL(*mock, writeContent(_, _, _, _, _, _)).Times(3).WillRepeatedly(Return(Status::ok()));
  EXPECT_CALL(*mock, statSnapshot(_, "nix", _))
      .Times(2)
      .WillRepeatedly(Return(notFound("no snapshot")));
  EXPECT_CALL(*mock,
              prepareSnapshot(_, "nix", ::testing::StartsWith("extract-2000000000000000-"), "", _))
      .WillOnce(Return(alreadyExists("target snapshot exists")));
  EXPECT_CALL(*mock, createImage(_, _)).WillOnce(Return(containerd::Image{}));
  EXPECT_CALL(*mock, deleteLease(_, "nix2container-1000000000000000"))
      .WillOnce(Return(Status::ok()));
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
    config_ = !config.empty() ? config
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
      (store_ / "0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-a").string();
  std::string bad_manifest = man.dump();
  auto idx = nlohmann::json::parse(index_);
  idx["manifests"][0]["digest"] = oci::digestOf(bad_manifest);
  idx["manifests"][0]["size"] = bad_manifest.size();
  m[0].content = idx.dump();
  m[2] = {blob(bad_manifest), oci::TarEntry::Type::File, 0644, "", bad_manifest, {}};
  expectRejected(m, "containerd.io/snapshot/nix-layer");
}

TEST_F(ContainerdLoaderBadInputTest, HostileClosureAnnotationIsRejected) {
  auto m = members();
  auto man = nlohmann::json::parse(manifest_);
  man["layers"][0]["annotations"]["containerd.io/snapshot/nix-closure"] = "/etc";
  std::string bad_manifest = man.dump();
  auto idx = nlohmann::json::parse(index_);
  idx["manifests"][0]["digest"] = oci::digestOf(bad_manifest);
  idx["manifests"][0]["size"] = bad_manifest.size();
  m[0].content = idx.dump();
  m[2] = {blob(bad_manifest), oci::TarEntry::Type::File, 0644, "", bad_manifest, {}};
  expectRejected(m, "containerd.io/snapshot/nix-closure");
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
  expectRejected(members("layer-bytes", "", config([](J& c) {
                           c["config"]["Env"] = {1, 2};
                         })),
                 "\"config.Env\"");
  expectRejected(
      members("layer-bytes", "", config([](J& c) { c["architecture"] = "no-such-arch"; })),
      "no-such-arch");
  expectRejected(members("layer-bytes", "", config([](J& c) { c["created"] = "yesterday"; })),
                 "\"created\"");
  expectRejected(members("layer-bytes", "", config([](J& c) {
                           c["config"]["Labels"] = {{"k", std::string("a\0b", 3)}};
                         })),
                 "\"config.Labels\" value of label \"k\" contains a NUL");
  expectRejected(members("layer-bytes", "", config([](J& c) {
                           c["config"]["StopSignal"] = std::string("TERM\0", 5);
                         })),
                 "\"config.StopSignal\" contains a NUL");
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
