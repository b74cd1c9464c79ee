#include "oci/types.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oci/digest.h"

namespace nixsnap::oci {
namespace {

Manifest sampleManifest() {
  Manifest m;
  m.config = {std::string(media::kOciConfig), digestOf("c"), 1, {}, std::nullopt};
  m.layers.push_back({std::string(media::kOciLayerGzip),
                      digestOf("l"),
                      1,
                      {{"containerd.io/snapshot/nix-layer", "true"}},
                      std::nullopt});
  return m;
}

TEST(TypesTest, ManifestRoundTrips) {
  Manifest m = sampleManifest();
  auto parsed = parseManifest(toJson(m));
  ASSERT_TRUE(parsed.isOk()) << parsed.status().toString();
  EXPECT_EQ(parsed->config, m.config);
  EXPECT_EQ(parsed->layers, m.layers);
  EXPECT_EQ(toJson(*parsed), toJson(m));
}

TEST(TypesTest, ManifestWithUnknownLayerMediaTypeIsInvalid) {
  Manifest m = sampleManifest();
  m.layers[0].media_type = "application/x-mystery";
  auto parsed = parseManifest(toJson(m));
  EXPECT_EQ(parsed.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(parsed.status().message().find("application/x-mystery"), std::string::npos);
}

TEST(TypesTest, MalformedJsonIsInvalidArgumentNotException) {
  EXPECT_EQ(parseManifest("{").status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(parseIndex("[1,2]").status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(
      parseIndex(R"({"schemaVersion":2,"manifests":[{"digest":"x","size":1}]})").status().code(),
      ErrorCode::InvalidArgument);
  EXPECT_EQ(parseIndex(R"({"schemaVersion":1,"manifests":[]})").status().code(),
            ErrorCode::InvalidArgument);
}

std::string expectInvalid(const Status& st) {
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << st.toString();
  return st.message();
}

// A field of the wrong type used to surface as nlohmann's "type must be string, but is
// number", naming neither the field nor where it was.
TEST(TypesTest, IndexFieldOfWrongTypeIsNamedByItsPath) {
  const std::string digest = R"("digest":"sha256:)" + std::string(64, 'a') + "\"";
  const std::string good =
      R"("mediaType":"application/vnd.oci.image.manifest.v1+json",)" + digest + R"(,"size":1)";
  auto doc = [](const std::string& body) { return R"({"schemaVersion":2,)" + body + "}"; };
  auto entry = [&](const std::string& fields) { return doc(R"("manifests":[{)" + fields + "}]"); };
  struct Case {
    std::string text;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {entry(R"("digest":5,"size":1)"),
            "index.json: manifests[0].digest: expected a string, got number"},
           {entry(R"("mediaType":5,)" + digest + R"(,"size":1)"),
            "index.json: manifests[0].mediaType: expected a string, got number"},
           {entry(digest + R"(,"size":"1")"),
            "index.json: manifests[0].size: expected an integer, got string"},
           {entry(digest + R"(,"size":1.5)"),
            "index.json: manifests[0].size: expected an integer, got number"},
           {entry(digest), "index.json: manifests[0].size: missing"},
           {entry(good + R"(,"annotations":"x")"),
            "index.json: manifests[0].annotations: expected an object of strings, got string"},
           {entry(good + R"(,"annotations":{"a":"b","c":1})"),
            "index.json: manifests[0].annotations.c: expected a string, got number"},
           {entry(good + R"(,"platform":5)"),
            "index.json: manifests[0].platform: expected an object, got number"},
           {entry(good + R"(,"platform":{"os":"linux","architecture":[]})"),
            "index.json: manifests[0].platform.architecture: expected a string, got array"},
           {doc(R"("manifests":[5])"), "index.json: manifests[0]: expected an object, got number"},
           {doc(R"("manifests":{})"), "index.json: manifests: expected a list, got object"},
           {doc(R"("mediaType":5,"manifests":[])"),
            "index.json: mediaType: expected a string, got number"},
           {doc(R"("manifests":[],"annotations":[])"),
            "index.json: annotations: expected an object of strings, got array"},
           {R"({"schemaVersion":2})", "index.json: manifests: missing"},
           {"[]", "index.json: expected an object, got array"},
       }) {
    auto r = parseIndex(c.text, "index.json");
    ASSERT_FALSE(r.isOk()) << c.text;
    EXPECT_EQ(expectInvalid(r.status()), c.want) << c.text;
  }
  auto unnamed = parseIndex(doc(R"("manifests":[5])"));
  EXPECT_EQ(unnamed.status().message(), "index: manifests[0]: expected an object, got number");
}

TEST(TypesTest, ManifestFieldOfWrongTypeIsNamedByItsPath) {
  Manifest m = sampleManifest();
  nlohmann::json good = nlohmann::json::parse(toJson(m));
  struct Case {
    std::function<void(nlohmann::json&)> mutate;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {[](nlohmann::json& j) { j["config"] = "x"; },
            "manifest: config: expected an object, got string"},
           {[](nlohmann::json& j) { j.erase("config"); }, "manifest: config: missing"},
           {[](nlohmann::json& j) { j["config"]["digest"] = 5; },
            "manifest: config.digest: expected a string, got number"},
           {[](nlohmann::json& j) { j["layers"][0]["size"] = true; },
            "manifest: layers[0].size: expected an integer, got boolean"},
           {[](nlohmann::json& j) { j["layers"][0]["annotations"]["x"] = nullptr; },
            "manifest: layers[0].annotations.x: expected a string, got null"},
           {[](nlohmann::json& j) { j["layers"] = 5; },
            "manifest: layers: expected a list, got number"},
           {[](nlohmann::json& j) { j["annotations"] = 5; },
            "manifest: annotations: expected an object of strings, got number"},
       }) {
    nlohmann::json j = good;
    c.mutate(j);
    auto r = parseManifest(j.dump());
    ASSERT_FALSE(r.isOk()) << j.dump();
    EXPECT_EQ(expectInvalid(r.status()), c.want) << j.dump();
  }
  m.layers[0].media_type = "application/x-mystery";
  EXPECT_EQ(parseManifest(toJson(m), "base manifest").status().message(),
            "base manifest: layers[0]: unknown media type \"application/x-mystery\"");
}

// Go's decoder reads null as the zero value: an absent field, not a type error.
TEST(TypesTest, NullOptionalFieldsReadAsAbsent) {
  auto r =
      parseIndex(R"({"schemaVersion":2,"mediaType":null,"annotations":null,"manifests":[)"
                 R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
                 std::string(64, 'a') + R"(","size":1,"annotations":null,"platform":null}]})");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->media_type, media::kOciIndex);
  EXPECT_FALSE(r->manifests[0].platform.has_value());
}

TEST(TypesTest, HostileNestingIsInvalidArgumentNotACrash) {
  const std::string nested = std::string(500000, '[') + std::string(500000, ']');
  for (const std::string& doc : {R"({"schemaVersion":2,"x":)" + nested + "}",
                                 R"({"schemaVersion":2,"manifests":)" + nested + "}"}) {
    auto index = parseIndex(doc);
    ASSERT_FALSE(index.isOk());
    EXPECT_EQ(index.status().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(index.status().message().find("nested deeper than"), std::string::npos)
        << index.status().message();
    auto manifest = parseManifest(doc);
    ASSERT_FALSE(manifest.isOk());
    EXPECT_EQ(manifest.status().code(), ErrorCode::InvalidArgument);
  }
}

TEST(TypesTest, SizeBeyondInt64IsTooLargeNotNegative) {
  auto r = parseIndex(
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("digest":"sha256:)" +
      std::string(64, 'a') + R"(","size":10000000000000000000}]})");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(
      r.status().message().find("index: manifests[0].size: 10000000000000000000 is too large"),
      std::string::npos)
      << r.status().message();
}

TEST(TypesTest, IndexRoundTripsAnnotations) {
  Index idx;
  idx.manifests.push_back({std::string(media::kOciManifest),
                           digestOf("m"),
                           3,
                           {{std::string(kRefNameAnnotation), "a/b:c"}},
                           std::nullopt});
  auto parsed = parseIndex(toJson(idx));
  ASSERT_TRUE(parsed.isOk());
  EXPECT_EQ(parsed->manifests, idx.manifests);
}

TEST(TypesTest, HostPlatformIsLinuxWithGoArchName) {
  Platform p = hostPlatform();
  EXPECT_EQ(p.os, "linux");
  EXPECT_NE(p.architecture, "x86_64");
  EXPECT_FALSE(p.architecture.empty());
}

}  // namespace
}  // namespace nixsnap::oci
