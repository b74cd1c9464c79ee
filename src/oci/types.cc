#include "oci/types.h"

#include <sys/utsname.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/json.h"
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

Status checkSchema(const json& j, const char* what) {
  if (!j.is_object()) {
    return invalidArgument(std::string("parsing ") + what + ": not a JSON object");
  }
  if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) {
    return invalidArgument(std::string("parsing ") + what + ": schemaVersion is not 2");
  }
  return Status::ok();
}

// The "annotations" object of `j`, empty when absent; throws json::exception when it is
// not a string-to-string object (parseDocument turns that into InvalidArgument).
std::map<std::string, std::string> annotationsOf(const json& j) {
  if (!j.contains("annotations")) {
    return {};
  }
  return j["annotations"].get<std::map<std::string, std::string>>();
}

// The inverse of annotationsOf: no member for none.
void putAnnotations(json& j, const std::map<std::string, std::string>& annotations) {
  if (!annotations.empty()) {
    j["annotations"] = annotations;
  }
}

// Parses `text` as a schemaVersion 2 document `what` and hands it to `read`; malformed JSON
// or a value of the wrong type anywhere is InvalidArgument "parsing <what>: ...".
template <typename T, typename Read>
Result<T> parseDocument(std::string_view text, const char* what, Read read) {
  auto parsed = parseJson(text, what);
  if (!parsed.isOk()) {
    return parsed.status();
  }
  try {
    const json& j = *parsed;
    NIXSNAP_RETURN_IF_ERROR(checkSchema(j, what));
    return read(j);
  } catch (const json::exception& e) {
    return invalidArgument(std::string("parsing ") + what + ": " + jsonErrorText(e));
  }
}

Status descriptorFromJson(const json& j, const std::string& where, Descriptor& out) {
  if (!j.is_object()) {
    return invalidArgument(where + ": descriptor is not an object");
  }
  out.media_type = j.value("mediaType", "");
  out.digest = j.value("digest", "");
  if (!j.contains("size") || !j["size"].is_number_integer()) {
    return invalidArgument(where + ": descriptor has no integer \"size\"");
  }
  const json& size = j["size"];
  if (size.is_number_unsigned() &&
      size.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return invalidArgument(where + ": size " + size.dump() + " is too large");
  }
  out.size = size.get<int64_t>();
  if (out.size < 0) {
    return invalidArgument(where + ": negative size");
  }
  NIXSNAP_RETURN_IF_ERROR(validateDigest(out.digest).wrap(where));
  out.annotations = annotationsOf(j);
  if (j.contains("platform")) {
    const auto& p = j["platform"];
    out.platform = Platform{p.value("architecture", ""), p.value("os", ""), p.value("variant", "")};
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

Result<Manifest> parseManifest(std::string_view text) {
  return parseDocument<Manifest>(text, "manifest", [](const json& j) -> Result<Manifest> {
    Manifest m;
    m.media_type = j.value("mediaType", std::string(media::kOciManifest));
    if (!isManifestMediaType(m.media_type)) {
      return invalidArgument("parsing manifest: unknown media type \"" + m.media_type + "\"");
    }
    if (!j.contains("config")) {
      return invalidArgument("parsing manifest: no \"config\"");
    }
    NIXSNAP_RETURN_IF_ERROR(descriptorFromJson(j["config"], "parsing manifest config", m.config));
    if (!isConfigMediaType(m.config.media_type)) {
      return invalidArgument("parsing manifest: unknown config media type \"" +
                             m.config.media_type + "\"");
    }
    if (!j.contains("layers") || !j["layers"].is_array()) {
      return invalidArgument("parsing manifest: no \"layers\" array");
    }
    size_t i = 0;
    for (const auto& l : j["layers"]) {
      Descriptor d;
      std::string where = "parsing manifest layer " + std::to_string(i++);
      NIXSNAP_RETURN_IF_ERROR(descriptorFromJson(l, where, d));
      if (!isLayerMediaType(d.media_type)) {
        return invalidArgument(where + ": unknown media type \"" + d.media_type + "\"");
      }
      m.layers.push_back(std::move(d));
    }
    m.annotations = annotationsOf(j);
    return m;
  });
}

Result<Index> parseIndex(std::string_view text) {
  return parseDocument<Index>(text, "index", [](const json& j) -> Result<Index> {
    Index idx;
    idx.media_type = j.value("mediaType", std::string(media::kOciIndex));
    if (!j.contains("manifests") || !j["manifests"].is_array()) {
      return invalidArgument("parsing index: no \"manifests\" array");
    }
    size_t i = 0;
    for (const auto& mj : j["manifests"]) {
      Descriptor d;
      NIXSNAP_RETURN_IF_ERROR(
          descriptorFromJson(mj, "parsing index manifest " + std::to_string(i++), d));
      idx.manifests.push_back(std::move(d));
    }
    idx.annotations = annotationsOf(j);
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
