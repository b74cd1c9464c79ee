#include "oci/layout.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "oci/digest.h"
#include "support/test_env.h"

namespace nixsnap::oci {
namespace {

constexpr const char* kConfig = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)"
                                R"("diff_ids":["sha256:)"
                                "0000000000000000000000000000000000000000000000000000000000000000"
                                R"("]}})";

/// An extracted archive written file by file, so each test can make one part hostile.
class LayoutTest : public ::testing::Test {
 protected:
  /// Writes `content` as a blob; returns its descriptor JSON.
  std::string blob(const std::string& content, const std::string& media_type) {
    std::string digest = digestOf(content);
    testing::writeFile(root_ / "blobs" / "sha256" / digestHex(digest), content);
    return R"({"mediaType":")" + media_type + R"(","digest":")" + digest + R"(","size":)" +
           std::to_string(content.size()) + "}";
  }

  /// An OCI layout whose one manifest has `config` as its config blob.
  void writeOci(const std::string& config) {
    std::string manifest = R"({"schemaVersion":2,"config":)" +
                           blob(config, std::string(media::kOciConfig)) + R"(,"layers":[]})";
    writeIndex(blob(manifest, std::string(media::kOciManifest)));
  }

  void writeIndex(const std::string& descriptor) {
    testing::writeFile(root_ / "index.json",
                       R"({"schemaVersion":2,"manifests":[)" + descriptor + "]}");
  }

  /// A docker archive: config.json, layer.tar and `manifest` as manifest.json.
  void writeDocker(const std::string& manifest) {
    testing::writeFile(root_ / "config.json", kConfig);
    testing::writeFile(root_ / "layer.tar", std::string(1024, '\0'));
    testing::writeFile(root_ / "manifest.json", manifest);
  }

  void expectInvalid(const std::string& needle) {
    auto l = openLayout(root_);
    ASSERT_FALSE(l.isOk()) << needle;
    EXPECT_EQ(l.status().code(), ErrorCode::InvalidArgument) << l.status().toString();
    EXPECT_NE(l.status().message().find(needle), std::string::npos)
        << "want \"" << needle << "\" in: " << l.status().message();
  }

  /// Starts the next case in a directory of its own.
  void fresh() {
    root_ = dir_.path() / std::to_string(++cases_);
    fs::create_directories(root_);
  }

  TempDir dir_ = testing::makeTempDir();
  fs::path root_ = dir_.path() / "0";
  int cases_ = 0;
};

// A config blob that is JSON but no object used to be reported as a missing
// rootfs.diff_ids, which sent the reader looking in the wrong place.
TEST_F(LayoutTest, ConfigThatIsNoObjectIsNamedAsSuch) {
  for (const char* config : {"[]", "5", "\"x\"", "null"}) {
    fresh();
    writeOci(config);
    expectInvalid("image config must be a JSON object, got");
  }
}

TEST_F(LayoutTest, IndexAndManifestThatAreNoObjectAreNamedAsSuch) {
  testing::writeFile(root_ / "index.json", "[]");
  expectInvalid("index.json: expected an object, got array");
  writeIndex(blob("[]", std::string(media::kOciManifest)));
  expectInvalid("manifest: expected an object, got array");
  writeIndex(blob("[]", std::string(media::kOciIndex)));
  expectInvalid("nested index: expected an object, got array");
  testing::writeFile(root_ / "index.json", R"({"schemaVersion":2,"manifests":[5]})");
  expectInvalid("index.json: manifests[0]: expected an object, got number");
}

// Each document is named as the archive holds it, each field by its path in it.
TEST_F(LayoutTest, IndexAndManifestFieldOfWrongTypeIsNamedByDocumentAndPath) {
  testing::writeFile(root_ / "index.json",
                     R"({"schemaVersion":2,"manifests":[{"digest":5,"size":1}]})");
  expectInvalid("index.json: manifests[0].digest: expected a string, got number");
  fresh();
  std::string manifest = R"({"schemaVersion":2,"config":)" +
                         blob(kConfig, std::string(media::kOciConfig)) + R"(,"layers":[7]})";
  writeIndex(blob(manifest, std::string(media::kOciManifest)));
  expectInvalid("manifest: layers[0]: expected an object, got number");
  fresh();
  writeIndex(
      blob(R"({"schemaVersion":2,"manifests":[{"size":"1"}]})", std::string(media::kOciIndex)));
  expectInvalid("nested index: manifests[0].size: expected an integer, got string");
}

TEST_F(LayoutTest, DockerManifestBaselineOpens) {
  writeDocker(R"([{"Config":"config.json","RepoTags":["hello"],"Layers":["layer.tar"]}])");
  auto l = openLayout(root_);
  ASSERT_TRUE(l.isOk()) << l.status().toString();
  EXPECT_EQ(l->image.names, std::vector<std::string>{"docker.io/library/hello:latest"});
  EXPECT_EQ(l->image.manifest.layers.size(), 1u);
}

// docker save writes "RepoTags": null for an untagged image.
TEST_F(LayoutTest, DockerManifestWithNullRepoTagsOpensUnnamed) {
  writeDocker(R"([{"Config":"config.json","RepoTags":null,"Layers":["layer.tar"]}])");
  auto l = openLayout(root_);
  ASSERT_TRUE(l.isOk()) << l.status().toString();
  EXPECT_TRUE(l->image.names.empty());
}

// A field of the wrong type used to surface as nlohmann's "type must be string, but is
// number", naming no field.
TEST_F(LayoutTest, DockerManifestFieldOfWrongTypeIsNamed) {
  struct Case {
    const char* manifest;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {R"([{"Config":5,"Layers":["layer.tar"]}])",
            "manifest.json[0].Config: expected a string, got number"},
           {R"([{"Layers":["layer.tar"]}])", "manifest.json[0].Config: missing"},
           {R"([{"Config":"config.json","Layers":"layer.tar"}])",
            "manifest.json[0].Layers: expected a list of strings, got string"},
           {R"([{"Config":"config.json"}])", "manifest.json[0].Layers: missing"},
           {R"([{"Config":"config.json","Layers":["layer.tar",7]}])",
            "manifest.json[0].Layers[1]: expected a string, got number"},
           {R"([{"Config":"config.json","Layers":["layer.tar"],"RepoTags":"a:1"}])",
            "manifest.json[0].RepoTags: expected a list of strings, got string"},
           {R"([{"Config":"config.json","Layers":["layer.tar"],"RepoTags":["a:1",{}]}])",
            "manifest.json[0].RepoTags[1]: expected a string, got object"},
           {R"([5])", "manifest.json[0]: expected an object, got number"},
       }) {
    fresh();
    writeDocker(c.manifest);
    expectInvalid(c.want);
  }
}

}  // namespace
}  // namespace nixsnap::oci
