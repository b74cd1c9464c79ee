#include "oci/types.h"

#include <sys/utsname.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/json_fields.h"
#include "oci/digest.h"

namespace nixsnap::oci {
namespace {

using nlohmann::json;

bool isIn(std::string_view v, std::initializer_list<std::string_view> set) {
  for (auto s : set) {
    if (v == s) {
      return true;
    }
  }
  return false;
}

Status checkSchema(const json& j) {
  NIXSNAP_RETURN_IF_ERROR(expectJsonObject(j, ""));
  if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) {
    return invalidArgument("schemaVersion is not 2");
  }
  return Status::ok();
}

// The inverse of readJsonStringMap: no member for none.
void putAnnotations(json& j, const std::map<std::string, std::string>& annotations) {
  if (!annotations.empty()) {
    j["annotations"] = annotations;
  }
}

// Parses `text` as a schemaVersion 2 document named `what` in errors and hands it to
// `read`, whose errors name the field's path ("manifests[0].digest: expected a string, got
// number") and come back prefixed by `what`. Malformed JSON is parseJson's error.
template <typename T, typename Read>
Result<T> parseDocument(std::string_view text, std::string_view what, Read read) {
  auto parsed = parseJson(text, what);
  if (!parsed.isOk()) {
    return parsed.status();
  }
  auto checked = [&]() -> Result<T> {
    try {
      NIXSNAP_RETURN_IF_ERROR(checkSchema(*parsed));
      return read(*parsed);
    } catch (const json::exception& e) {
      // Every field is type-checked before it is read: a guard, as at every boundary.
      return invalidArgument(jsonErrorText(e));
    }
  };
  Result<T> out = checked();
  if (!out.isOk()) {
    return out.status().wrap(what);
  }
  return out;
}

Status readSize(const json& j, const std::string& where, int64_t& out) {
  const std::string path = jsonMemberPath(where, "size");
  const json* size = jsonMember(j, "size");
  if (size == nullptr) {
    return invalidArgument(path + ": missing");
  }
  if (!size->is_number_integer()) {
    return jsonTypeError(path, "an integer", *size);
  }
  if (size->is_number_unsigned() &&
      size->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return invalidArgument(path + ": " + size->dump() + " is too large");
  }
  out = size->get<int64_t>();
  if (out < 0) {
    return invalidArgument(path + ": " + std::to_string(out) + " is negative");
  }
  return Status::ok();
}

Status readPlatform(const json& j, const std::string& where, std::optional<Platform>& out) {
  const json* p = jsonMember(j, "platform");
  if (p == nullptr) {
    return Status::ok();
  }
  const std::string path = jsonMemberPath(where, "platform");
  NIXSNAP_RETURN_IF_ERROR(expectJsonObject(*p, path));
  Platform platform;
  NIXSNAP_RETURN_IF_ERROR(readJsonString(*p, "architecture", path, false, platform.architecture));
  NIXSNAP_RETURN_IF_ERROR(readJsonString(*p, "os", path, false, platform.os));
  NIXSNAP_RETURN_IF_ERROR(readJsonString(*p, "variant", path, false, platform.variant));
  out = std::move(platform);
  return Status::ok();
}

/// The descriptor `j` found at `where` ("manifests[0]", "config").
Status descriptorFromJson(const json& j, const std::string& where, Descriptor& out) {
  NIXSNAP_RETURN_IF_ERROR(expectJsonObject(j, where));
  NIXSNAP_RETURN_IF_ERROR(readJsonString(j, "mediaType", where, false, out.media_type));
  NIXSNAP_RETURN_IF_ERROR(readJsonString(j, "digest", where, false, out.digest));
  NIXSNAP_RETURN_IF_ERROR(readSize(j, where, out.size));
  NIXSNAP_RETURN_IF_ERROR(validateDigest(out.digest).wrap(jsonMemberPath(where, "digest")));
  NIXSNAP_RETURN_IF_ERROR(readJsonStringMap(j, "annotations", where, out.annotations));
  return readPlatform(j, where, out.platform);
}

/// The list of descriptors `j[key]`, each checked by `check` (given it and its path).
template <typename Check>
Status descriptorList(const json& j, const char* key, std::vector<Descriptor>& out, Check check) {
  const json* list = jsonMember(j, key);
  if (list == nullptr) {
    return invalidArgument(std::string(key) + ": missing");
  }
  if (!list->is_array()) {
    return jsonTypeError(key, "a list", *list);
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = jsonElementPath(key, i);
    Descriptor d;
    NIXSNAP_RETURN_IF_ERROR(descriptorFromJson((*list)[i], where, d));
    NIXSNAP_RETURN_IF_ERROR(check(d, where));
    out.push_back(std::move(d));
  }
  return Status::ok();
}

json descriptorToJson(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  putAnnotations(j, d.annotations);
  if (d.platform) {
    j["platform"] = {{"architecture", d.platform->architecture}, {"os", d.platform->os}};
    if (!d.platform->variant.empty()) {
      j["platform"]["variant"] = d.platform->variant;
    }
  }
  return j;
}

}  // namespace

bool isLayerMediaType(std::string_view m) {
  return isIn(
      m, {media::kOciLayerTar, media::kOciLayerGzip, media::kOciLayerZstd, media::kDockerLayerGzip,
          media::kDockerLayerTar, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"});
}

bool isManifestMediaType(std::string_view m) {
  return isIn(m, {media::kOciManifest, media::kDockerManifest});
}

bool isConfigMediaType(std::string_view m) {
  return isIn(m, {media::kOciConfig, media::kDockerConfig});
}

Result<Manifest> parseManifest(std::string_view text, std::string_view what) {
  return parseDocument<Manifest>(text, what, [](const json& j) -> Result<Manifest> {
    Manifest m;
    NIXSNAP_RETURN_IF_ERROR(readJsonString(j, "mediaType", "", false, m.media_type));
    if (!isManifestMediaType(m.media_type)) {
      return invalidArgument("unknown media type \"" + m.media_type + "\"");
    }
    const json* config = jsonMember(j, "config");
    if (config == nullptr) {
      return invalidArgument("config: missing");
    }
    NIXSNAP_RETURN_IF_ERROR(descriptorFromJson(*config, "config", m.config));
    if (!isConfigMediaType(m.config.media_type)) {
      return invalidArgument("config: unknown media type \"" + m.config.media_type + "\"");
    }
    NIXSNAP_RETURN_IF_ERROR(
        descriptorList(j, "layers", m.layers, [](const Descriptor& d, const std::string& where) {
          return isLayerMediaType(d.media_type)
                     ? Status::ok()
                     : invalidArgument(where + ": unknown media type \"" + d.media_type + "\"");
        }));
    NIXSNAP_RETURN_IF_ERROR(readJsonStringMap(j, "annotations", "", m.annotations));
    return m;
  });
}

Result<Index> parseIndex(std::string_view text, std::string_view what) {
  return parseDocument<Index>(text, what, [](const json& j) -> Result<Index> {
    Index idx;
    NIXSNAP_RETURN_IF_ERROR(readJsonString(j, "mediaType", "", false, idx.media_type));
    NIXSNAP_RETURN_IF_ERROR(
        descriptorList(j, "manifests", idx.manifests,
                       [](const Descriptor&, const std::string&) { return Status::ok(); }));
    NIXSNAP_RETURN_IF_ERROR(readJsonStringMap(j, "annotations", "", idx.annotations));
    return idx;
  });
}

std::string toJson(const Manifest& m) {
  json j = {{"schemaVersion", 2},
            {"mediaType", m.media_type},
            {"config", descriptorToJson(m.config)},
            {"layers", json::array()}};
  for (const auto& l : m.layers) {
    j["layers"].push_back(descriptorToJson(l));
  }
  putAnnotations(j, m.annotations);
  return j.dump();
}

std::string toJson(const Index& idx) {
  json j = {{"schemaVersion", 2}, {"mediaType", idx.media_type}, {"manifests", json::array()}};
  for (const auto& d : idx.manifests) {
    j["manifests"].push_back(descriptorToJson(d));
  }
  putAnnotations(j, idx.annotations);
  return j.dump();
}

Platform hostPlatform() {
  struct utsname u {};
  ::uname(&u);
  std::string m = u.machine;
  std::string arch = m;
  std::string variant;
  if (m == "x86_64") {
    arch = "amd64";
  } else if (m == "aarch64" || m == "arm64") {
    arch = "arm64";
  } else if (m == "i686" || m == "i386") {
    arch = "386";
  } else if (m.rfind("armv7", 0) == 0) {
    arch = "arm";
    variant = "v7";
  } else if (m == "ppc64le" || m == "s390x" || m == "riscv64") {
    arch = m;
  }
  return Platform{arch, "linux", variant};
}

}  // namespace nixsnap::oci
