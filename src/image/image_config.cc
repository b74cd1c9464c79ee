#include "image/image_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace nixsnap::image {
namespace {

using nlohmann::json;

enum class Kind { StringList, String, EmptyObjectMap, StringMap };

struct KeySpec {
  std::string_view name;
  Kind kind;
};

constexpr std::array<KeySpec, 9> kKeys = {{
    {"Entrypoint", Kind::StringList},
    {"Cmd", Kind::StringList},
    {"Env", Kind::StringList},
    {"WorkingDir", Kind::String},
    {"User", Kind::String},
    {"ExposedPorts", Kind::EmptyObjectMap},
    {"Labels", Kind::StringMap},
    {"Volumes", Kind::EmptyObjectMap},
    {"StopSignal", Kind::String},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Status checkValue(const std::string& key, Kind kind, const json& v) {
  auto bad = [&](const char* want) {
    return invalidArgument("image config key \"" + key + "\" must be " + want + ", got " +
                           v.type_name());
  };
  switch (kind) {
    case Kind::StringList:
      if (!v.is_array() && !v.is_null()) {
        return bad("a list of strings");
      }
      for (size_t i = 0; v.is_array() && i < v.size(); ++i) {
        if (!v[i].is_string()) {
          return invalidArgument("image config key \"" + key + "\" must be a list of strings, " +
                                 "but element " + std::to_string(i) + " is " +
                                 v[i].type_name() + " " + v[i].dump());
        }
      }
      break;
    case Kind::String:
      if (!v.is_string()) {
        return bad("a string");
      }
      break;
    case Kind::EmptyObjectMap:
    case Kind::StringMap:
      if (!v.is_object()) {
        return bad("an object");
      }
      for (const auto& [k, e] : v.items()) {
        if (kind == Kind::StringMap ? !e.is_string() : !e.is_object()) {
          return invalidArgument("image config key \"" + key + "\" must be " +
                                 (kind == Kind::StringMap ? "an object of strings"
                                                          : "an object of {}") +
                                 ", but \"" + k + "\" is " + e.type_name());
        }
      }
      break;
  }
  return Status::ok();
}

std::string envName(const std::string& entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

Result<json> parseUserConfig(std::string_view text) {
  json in;
  try {
    in = json::parse(text);
  } catch (const json::exception& e) {
    return invalidArgument(std::string("parsing image config: ") + e.what());
  }
  if (!in.is_object()) {
    return invalidArgument("parsing image config: not a JSON object");
  }
  json out = json::object();
  for (const auto& [key, value] : in.items()) {
    const KeySpec* spec = nullptr;
    for (const auto& k : kKeys) {
      if (lower(k.name) == lower(key)) {
        spec = &k;
      }
    }
    if (spec == nullptr) {
      return invalidArgument("parsing image config: unknown key \"" + key + "\"");
    }
    std::string canonical(spec->name);
    if (out.contains(canonical)) {
      return invalidArgument("parsing image config: key \"" + key + "\" given twice");
    }
    NIXSNAP_RETURN_IF_ERROR(checkValue(key, spec->kind, value));
    out[canonical] = value;
  }
  return out;
}

json mergeConfig(const json& base, const json& user) {
  json out = base.is_object() ? base : json::object();
  if (user.contains("Entrypoint") && !user.contains("Cmd")) {
    out.erase("Cmd");
  }
  for (const auto& [key, value] : user.items()) {
    if (key == "Env" && out.contains("Env") && out["Env"].is_array()) {
      json env = json::array();
      for (const auto& b : out["Env"]) {
        std::string name = envName(b.get<std::string>());
        auto it = std::find_if(value.begin(), value.end(), [&](const json& u) {
          return envName(u.get<std::string>()) == name;
        });
        env.push_back(it == value.end() ? b : *it);
      }
      for (const auto& u : value) {
        std::string name = envName(u.get<std::string>());
        bool in_base = std::any_of(out["Env"].begin(), out["Env"].end(), [&](const json& b) {
          return envName(b.get<std::string>()) == name;
        });
        if (!in_base) {
          env.push_back(u);
        }
      }
      out["Env"] = env;
    } else if ((key == "Labels" || key == "ExposedPorts" || key == "Volumes") &&
               out.contains(key) && out[key].is_object()) {
      for (const auto& [k, v] : value.items()) {
        out[key][k] = v;
      }
    } else {
      out[key] = value;
    }
  }
  return out;
}

}  // namespace nixsnap::image
