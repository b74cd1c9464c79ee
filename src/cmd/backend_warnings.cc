#include "cmd/backend_warnings.h"

#include <toml++/toml.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace nixsnap::cmd {
namespace {

using json = nlohmann::json;

// Visits every object member named `key`, anywhere in `doc`.
void findKey(const json& doc, const std::string& key, const std::function<void(const json&)>& fn) {
  if (doc.is_object()) {
    for (const auto& [k, v] : doc.items()) {
      if (k == key) {
        fn(v);
      }
      findKey(v, key, fn);
    }
  } else if (doc.is_array()) {
    for (const auto& v : doc) {
      findKey(v, key, fn);
    }
  }
}

// "v1.6.20", "1.6.20~ds1" -> {1, 6}; {0, 0} when unparsable.
std::pair<int, int> majorMinor(std::string version) {
  if (!version.empty() && version.front() == 'v') {
    version.erase(0, 1);
  }
  int major = 0;
  int minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) {
    return {0, 0};
  }
  return {major, minor};
}

std::string otherSnapshotterWarning(const std::string& used, const std::string& wanted) {
  return "containerd's CRI uses snapshotter \"" + used + "\", not \"" + wanted +
         "\": containers of Nix images need snapshotter \"" + wanted + "\"";
}

}  // namespace

std::string annotationsDisabledWarning() {
  return "containerd's CRI runs with disable_snapshot_annotations = true: Nix layers would "
         "unpack as plain tars and containers would find empty store mountpoints; set "
         "disable_snapshot_annotations = false";
}

Result<CriImageConfig> criImageConfigFromToml(const std::string& toml) {
  toml::table doc;
  try {
    doc = toml::parse(toml);
  } catch (const toml::parse_error& e) {
    return Status(ErrorCode::InvalidArgument,
                  std::string("parsing containerd's config dump: ") + e.what());
  }
  CriImageConfig config;
  // Version 3 (containerd 2.x) first, then version 2 (1.7).
  for (const auto* section :
       {doc["plugins"]["io.containerd.cri.v1.images"].as_table(),
        doc["plugins"]["io.containerd.grpc.v1.cri"]["containerd"].as_table()}) {
    if (section == nullptr) {
      continue;
    }
    if (auto v = (*section)["disable_snapshot_annotations"].value<bool>()) {
      config.disable_snapshot_annotations = *v;
    }
    if (auto v = (*section)["snapshotter"].value<std::string>()) {
      config.snapshotter = *v;
    }
    if (config.disable_snapshot_annotations.has_value() || !config.snapshotter.empty()) {
      break;
    }
  }
  return config;
}

std::vector<std::string> configWarnings(const CriImageConfig& config,
                                        const std::string& snapshotter) {
  std::vector<std::string> warnings;
  if (config.disable_snapshot_annotations.value_or(false)) {
    warnings.push_back(annotationsDisabledWarning());
  }
  if (!config.snapshotter.empty() && config.snapshotter != snapshotter) {
    warnings.push_back(otherSnapshotterWarning(config.snapshotter, snapshotter));
  }
  return warnings;
}

std::vector<std::string> backendWarnings(const BackendFacts& facts,
                                         const std::string& snapshotter) {
  std::vector<std::string> warnings;
  auto [major, minor] = majorMinor(facts.runtime_version);
  if (major != 0 && (major < 1 || (major == 1 && minor < 7))) {
    warnings.push_back("containerd " + facts.runtime_version +
                       " has no Mount.target (added in 1.7): Nix store paths cannot be "
                       "bind-mounted into containers; use containerd 1.7 or newer");
  }
  bool annotations_disabled = false;
  std::vector<std::string> snapshotters;
  for (const auto& [key, value] : facts.info) {
    auto doc = parseJson(value, "CRI status info");
    if (!doc.isOk()) {
      continue;
    }
    findKey(*doc, "disableSnapshotAnnotations", [&](const json& v) {
      if (v.is_boolean() && v.get<bool>()) {
        annotations_disabled = true;
      }
    });
    findKey(*doc, "snapshotter", [&](const json& v) {
      if (v.is_string() && !v.get<std::string>().empty()) {
        snapshotters.push_back(v.get<std::string>());
      }
    });
  }
  if (annotations_disabled) {
    warnings.push_back(annotationsDisabledWarning());
  }
  for (const auto& s : snapshotters) {
    if (s != snapshotter) {
      warnings.push_back(otherSnapshotterWarning(s, snapshotter));
      break;
    }
  }
  return warnings;
}

bool reportsSnapshotAnnotations(const BackendFacts& facts) {
  bool found = false;
  for (const auto& [key, value] : facts.info) {
    auto doc = parseJson(value, "CRI status info");
    if (doc.isOk()) {
      findKey(*doc, "disableSnapshotAnnotations", [&](const json&) { found = true; });
    }
  }
  return found;
}

}  // namespace nixsnap::cmd
