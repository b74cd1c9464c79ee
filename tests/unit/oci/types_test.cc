#include "oci/types.h"

#include <gtest/gtest.h>

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
  EXPECT_NE(r.status().message().find("size 10000000000000000000 is too large"), std::string::npos)
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
