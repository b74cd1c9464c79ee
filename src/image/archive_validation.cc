#include "image/archive_validation.h"

#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "image/image_config.h"
#include "oci/digest.h"
#include "oci/types.h"

namespace nixsnap::image {
namespace {

using nlohmann::json;

/// RFC 3339 date-time, as Go's time.Time.UnmarshalJSON accepts it.
bool isRfc3339(const std::string& s) {
  static const std::regex re(
      R"(^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
  return s.size() <= 64 && std::regex_match(s, re);
}

Status checkCreated(const json& obj, const std::string& field) {
  auto it = obj.find("created");
  if (it == obj.end() || it->is_null()) {
    return Status::ok();
  }
  // parseImageConfig has checked it is a string.
  if (!isRfc3339(it->get<std::string>())) {
    return invalidArgument("image config field \"" + field + "\" must be an RFC 3339 time, got " +
                           it->dump().substr(0, 64));
  }
  return Status::ok();
}

}  // namespace

Status validateArchiveForCri(const oci::Layout& layout) {
  const auto& img = layout.image;
  auto parsed = parseImageConfig(img.config_json);
  if (!parsed.isOk()) {
    return parsed.status();
  }
  const json& c = *parsed;
  oci::Platform host = oci::hostPlatform();
  for (const auto& [field, want] :
       {std::pair<const char*, std::string>{"architecture", host.architecture}, {"os", host.os}}) {
    std::string got = c.contains(field) && c[field].is_string() ? c[field].get<std::string>() : "";
    if (got.empty()) {
      return invalidArgument(std::string("image config has no \"") + field + "\"");
    }
    if (got != want) {
      return invalidArgument(std::string("image config field \"") + field + "\" is \"" +
                             got.substr(0, 64) + "\", this machine runs \"" + want + "\"");
    }
  }
  NIXSNAP_RETURN_IF_ERROR(checkCreated(c, "created"));
  if (c.contains("history") && c["history"].is_array()) {
    for (size_t i = 0; i < c["history"].size(); ++i) {
      NIXSNAP_RETURN_IF_ERROR(
          checkCreated(c["history"][i], "history[" + std::to_string(i) + "].created"));
    }
  }
  const json* rootfs = c.contains("rootfs") && c["rootfs"].is_object() ? &c["rootfs"] : nullptr;
  if (rootfs == nullptr || !rootfs->contains("type") || (*rootfs)["type"] != "layers") {
    return invalidArgument("image config field \"rootfs.type\" must be \"layers\"");
  }
  const json& diff_ids = rootfs->contains("diff_ids") ? (*rootfs)["diff_ids"] : json();
  size_t n = diff_ids.is_array() ? diff_ids.size() : 0;
  if (n != img.manifest.layers.size()) {
    return invalidArgument("image config has " + std::to_string(n) + " rootfs.diff_ids for " +
                           std::to_string(img.manifest.layers.size()) + " layers");
  }
  for (size_t i = 0; i < n; ++i) {
    Status st = oci::validateDigest(diff_ids[i].get<std::string>());
    if (!st.isOk()) {
      return st.wrap("image config field \"rootfs.diff_ids[" + std::to_string(i) + "]\"");
    }
  }
  return Status::ok();
}

}  // namespace nixsnap::image
