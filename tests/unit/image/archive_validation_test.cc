#include "image/archive_validation.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oci/digest.h"
#include "oci/types.h"

namespace nixsnap::image {
namespace {

using nlohmann::json;

/// A one-layer layout whose config is `config` (manifest and diff IDs consistent).
oci::Layout layoutWith(const json& config) {
  oci::Layout l;
  l.image.config_json = config.dump();
  l.image.manifest.layers.push_back(
      {std::string(oci::media::kOciLayerGzip), oci::digestOf("layer"), 5, {}, std::nullopt});
  return l;
}

json goodConfig() {
  return {{"architecture", oci::hostPlatform().architecture},
          {"os", oci::hostPlatform().os},
          {"created", "1970-01-01T00:00:01Z"},
          {"config", {{"Env", {"PATH=/bin"}}}},
          {"rootfs", {{"type", "layers"}, {"diff_ids", {oci::digestOf("x")}}}},
          {"history", {{{"created", "2024-05-01T10:00:00.5+02:00"}}}}};
}

TEST(ArchiveValidationTest, ConfigAsNix2containerWritesItIsAccepted) {
  Status st = validateArchiveForCri(layoutWith(goodConfig()));
  EXPECT_TRUE(st.isOk()) << st.toString();
}

TEST(ArchiveValidationTest, WhatCriCannotDecodeIsInvalidArgumentNamingTheField) {
  struct Case {
    std::function<void(json&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](json& c) { c["architecture"] = 5; }, "\"architecture\""},
      {[](json& c) { c.erase("os"); }, "\"os\""},
      {[](json& c) { c["os"] = "windows"; }, "\"os\""},
      {[](json& c) {
         c["config"]["Env"] = {1, 2};
       },
       "\"config.Env\""},
      {[](json& c) { c["created"] = "yesterday"; }, "\"created\""},
      {[](json& c) { c["history"][0]["created"] = "2024-05-01"; }, "\"history[0].created\""},
      {[](json& c) { c["rootfs"]["type"] = "tar"; }, "\"rootfs.type\""},
      {[](json& c) { c["rootfs"]["diff_ids"] = json::array(); }, "rootfs.diff_ids"},
      {[](json& c) { c["rootfs"]["diff_ids"] = {"sha256:nothex"}; }, "\"rootfs.diff_ids[0]\""},
  };
  for (const auto& c : cases) {
    json config = goodConfig();
    c.mutate(config);
    Status st = validateArchiveForCri(layoutWith(config));
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << c.field << ": " << st.toString();
    EXPECT_NE(st.message().find(c.field), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace nixsnap::image
