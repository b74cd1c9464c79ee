#include "cmd/backend_warnings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nixsnap::cmd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Shape of containerd 1.7's verbose Status info["config"] (trimmed).
const char* kGoodConfig = R"({"containerd":{"snapshotter":"nix",
  "disableSnapshotAnnotations":false,"runtimes":{"runc":{"snapshotter":""}}}})";

TEST(BackendWarningsTest, GoodSetupHasNoWarnings) {
  BackendFacts facts{"v1.7.24", {{"config", kGoodConfig}}};
  EXPECT_THAT(backendWarnings(facts, "nix"), ::testing::IsEmpty());
}

TEST(BackendWarningsTest, WarnsWhenSnapshotAnnotationsAreDisabled) {
  BackendFacts facts{"v2.1.9", {{"config", R"({"containerd":{"snapshotter":"nix",
                        "disableSnapshotAnnotations":true}})"}}};
  auto warnings = backendWarnings(facts, "nix");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("disable_snapshot_annotations"));
}

TEST(BackendWarningsTest, FindsTheSettingAnywhereInAnyInfoValue) {
  BackendFacts facts{
      "2.1.9",
      {{"config", "not json"}, {"imageConfig", R"({"x":[{"disableSnapshotAnnotations":true}]})"}}};
  EXPECT_EQ(backendWarnings(facts, "nix").size(), 1u);
}

TEST(BackendWarningsTest, WarnsAboutContainerd16) {
  BackendFacts facts{"1.6.20~ds1", {{"config", kGoodConfig}}};
  auto warnings = backendWarnings(facts, "nix");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("Mount.target"));
}

TEST(BackendWarningsTest, WarnsAboutAnotherSnapshotter) {
  BackendFacts facts{"v1.7.24", {{"config", R"({"containerd":{"snapshotter":"overlayfs"}})"}}};
  auto warnings = backendWarnings(facts, "nix");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("overlayfs"));
}

TEST(BackendWarningsTest, TellsWhetherTheSettingIsReported) {
  EXPECT_TRUE(reportsSnapshotAnnotations(BackendFacts{"v1.7.24", {{"config", kGoodConfig}}}));
  // containerd 2.x: runtime config only.
  EXPECT_FALSE(reportsSnapshotAnnotations(
      BackendFacts{"2.1.9", {{"config", R"({"containerd":{"defaultRuntimeName":"runc"}})"}}}));
}

// Trimmed `containerd config dump` of containerd 2.1.9 (version 3).
const char* kDump21 = R"(version = 3
root = '/var/lib/containerd'

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'nix'
    disable_snapshot_annotations = true
    discard_unpacked_layers = false

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_cdi = true
)";

// Trimmed `containerd config dump` of containerd 1.7.24 (version 2).
const char* kDump17 = R"(version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.8"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      disable_snapshot_annotations = false
      snapshotter = "overlayfs"
)";

TEST(CriImageConfigTest, ReadsContainerd2Dump) {
  auto config = criImageConfigFromToml(kDump21);
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->disable_snapshot_annotations, true);
  EXPECT_EQ(config->snapshotter, "nix");
}

TEST(CriImageConfigTest, ReadsContainerd17Dump) {
  auto config = criImageConfigFromToml(kDump17);
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->disable_snapshot_annotations, false);
  EXPECT_EQ(config->snapshotter, "overlayfs");
}

TEST(CriImageConfigTest, DumpWithoutCriSectionLeavesTheSettingUnknown) {
  auto config = criImageConfigFromToml("version = 3\n[plugins]\n  [plugins.'io.x']\n    a = 1\n");
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_FALSE(config->disable_snapshot_annotations.has_value());
  EXPECT_EQ(config->snapshotter, "");
}

TEST(CriImageConfigTest, BrokenTomlIsInvalidArgument) {
  auto config = criImageConfigFromToml("version = [\n");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), ErrorCode::InvalidArgument);
}

TEST(CriImageConfigTest, WarnsLikeTheStatusCheck) {
  EXPECT_THAT(configWarnings({true, "nix"}, "nix"), ElementsAre(annotationsDisabledWarning()));
  EXPECT_THAT(annotationsDisabledWarning(), HasSubstr("Nix layers would unpack as plain tars"));
  EXPECT_THAT(configWarnings({false, "nix"}, "nix"), ::testing::IsEmpty());
  EXPECT_THAT(configWarnings({std::nullopt, ""}, "nix"), ::testing::IsEmpty());
  auto other = configWarnings({false, "overlayfs"}, "nix");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_THAT(other[0], HasSubstr("\"overlayfs\""));
}

}  // namespace
}  // namespace nixsnap::cmd
