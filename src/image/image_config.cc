#include "image/image_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

#include "common/json.h"

namespace nixsnap::image {
namespace {

using nlohmann::json;

enum class Kind { StringList, String, EmptyObjectMap, StringMap, Bool, Object };

struct KeySpec {
  std::string_view name;
  Kind kind;
  /// Why its strings (list elements, label keys and values) may hold no NUL character,
  /// for the error; empty when they may.
  std::string_view no_nul_because = {};
};

/// The runtime hands these to exec (argv, envp, cwd) or the user lookup as C strings: a
/// NUL would cut them short, so no container could start.
constexpr std::string_view kExec = "which no runtime can pass to exec";

constexpr std::array<KeySpec, 9> kKeys = {{
    {"Entrypoint", Kind::StringList, kExec},
    {"Cmd", Kind::StringList, kExec},
    {"Env", Kind::StringList, kExec},
    {"WorkingDir", Kind::String, kExec},
    {"User", Kind::String, kExec},
    {"ExposedPorts", Kind::EmptyObjectMap},
    {"Labels", Kind::StringMap, "which tools reading labels as C strings would cut short"},
    {"Volumes", Kind::EmptyObjectMap},
    {"StopSignal", Kind::String, "which no signal name holds"},
}};

/// Keys a base image's config section may carry besides the user's (Docker's
/// container config); type-checked, kept as they are.
constexpr std::array<KeySpec, 6> kBaseOnlyKeys = {{
    {"Hostname", Kind::String},
    {"Domainname", Kind::String},
    {"ArgsEscaped", Kind::Bool},
    {"Healthcheck", Kind::Object},
    {"OnBuild", Kind::StringList},
    {"Shell", Kind::StringList},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Appends at most `budget` characters of `v`'s JSON text. Not json::dump(): that recurses
/// once per nesting level, and a hostile config nests deep enough to overflow the stack;
/// here every level spends at least one character, so the depth stays within `budget`.
void appendExcerpt(const json& v, std::string& out, size_t budget) {
  if (out.size() >= budget) {
    return;
  }
  if (!v.is_structured()) {
    out += v.dump().substr(0, budget - out.size());
    return;
  }
  out += v.is_array() ? '[' : '{';
  bool first = true;
  for (auto it = v.begin(); it != v.end() && out.size() < budget; ++it) {
    if (!first) {
      out += ',';
    }
    first = false;
    if (v.is_object()) {
      out += json(it.key()).dump() + ':';
    }
    appendExcerpt(*it, out, budget);
  }
  if (out.size() < budget) {
    out += v.is_array() ? ']' : '}';
  }
  out.resize(std::min(out.size(), budget));
}

/// The first 64 characters of `v` as JSON, for error messages.
std::string excerpt(const json& v) {
  std::string out;
  appendExcerpt(v, out, 64);
  return out;
}

/// `what` names the value in errors: "image config key \"Env\"".
Status checkValue(const std::string& what, Kind kind, const json& v) {
  auto bad = [&](const char* want) {
    return invalidArgument(what + " must be " + want + ", got " + v.type_name() + " " + excerpt(v));
  };
  switch (kind) {
    case Kind::StringList:
      if (!v.is_array() && !v.is_null()) {
        return bad("a list of strings");
      }
      for (size_t i = 0; v.is_array() && i < v.size(); ++i) {
        if (!v[i].is_string()) {
          return invalidArgument(what + " must be a list of strings, " + "but element " +
                                 std::to_string(i) + " is " + v[i].type_name() + " " +
                                 excerpt(v[i]));
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
          return invalidArgument(
              what + " must be " +
              (kind == Kind::StringMap ? "an object of strings" : "an object of {}") + ", but \"" +
              k + "\" is " + e.type_name());
        }
      }
      break;
    case Kind::Bool:
      if (!v.is_boolean()) {
        return bad("a boolean");
      }
      break;
    case Kind::Object:
      if (!v.is_object()) {
        return bad("an object");
      }
      break;
  }
  return Status::ok();
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

/// Checks a value of `spec`'s kind (already type-checked) for NUL characters when its key
/// refuses them; `what` names the value as for checkValue, the error also the element or
/// the label.
Status checkNoNul(const std::string& what, const KeySpec& spec, const json& v) {
  auto hasNul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  auto refuse = [&](const std::string& which) {
    return invalidArgument(what + which + " contains a NUL character, " +
                           std::string(spec.no_nul_because));
  };
  if (spec.no_nul_because.empty() || v.is_null()) {
    return Status::ok();
  }
  if (v.is_string()) {
    return hasNul(v.get_ref<const std::string&>()) ? refuse("") : Status::ok();
  }
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      if (hasNul(key)) {
        return refuse(" label " + excerpt(json(key)));
      }
      if (value.is_string() && hasNul(value.get_ref<const std::string&>())) {
        return refuse(" value of label " + excerpt(json(key)));
      }
    }
    return Status::ok();
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (hasNul(v[i].get_ref<const std::string&>())) {
      return refuse(" element " + std::to_string(i));
    }
  }
  return Status::ok();
}

/// checkValue, then checkNoNul.
Status checkKey(const std::string& what, const KeySpec& spec, const json& v) {
  NIXSNAP_RETURN_IF_ERROR(checkValue(what, spec.kind, v));
  return checkNoNul(what, spec, v);
}

/// Checks `obj[field]`, when present and not null, against `kind`; errors name the field
/// as `path` + `field` ("rootfs.diff_ids").
Status checkOptional(const json& obj, const char* field, Kind kind, const std::string& path) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    return Status::ok();
  }
  return checkValue("image config field " + quoted(path + field), kind, *it);
}

/// A base image's config section: known keys type-checked (null allowed, as Go decodes
/// it to the zero value) and renamed to their canonical spelling; other keys kept.
Result<json> checkBaseSection(const json& in) {
  if (in.is_null()) {
    return json::object();
  }
  if (!in.is_object()) {
    return invalidArgument(std::string("image config field \"config\" must be an object, got ") +
                           in.type_name());
  }
  json out = json::object();
  for (const auto& [key, value] : in.items()) {
    const KeySpec* spec = nullptr;
    for (const auto* keys : {kKeys.data(), kBaseOnlyKeys.data()}) {
      size_t n = keys == kKeys.data() ? kKeys.size() : kBaseOnlyKeys.size();
      for (size_t i = 0; i < n; ++i) {
        if (lower(keys[i].name) == lower(key)) {
          spec = &keys[i];
        }
      }
    }
    std::string canonical = spec != nullptr ? std::string(spec->name) : key;
    if (out.contains(canonical)) {
      return invalidArgument("image config field \"config." + key + "\" given twice");
    }
    if (spec != nullptr && !value.is_null()) {
      NIXSNAP_RETURN_IF_ERROR(checkKey("image config field \"config." + key + "\"", *spec, value));
    }
    out[canonical] = value;
  }
  return out;
}

std::string envName(const std::string& entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

Result<json> parseUserConfig(std::string_view text) {
  auto parsed = parseJson(text, "image config");
  if (!parsed.isOk()) {
    return parsed.status();
  }
  json in = std::move(*parsed);
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
    NIXSNAP_RETURN_IF_ERROR(checkKey("image config key " + quoted(key), *spec, value));
    out[canonical] = value;
  }
  return out;
}

Result<json> parseImageConfig(std::string_view text) {
  auto parsed = parseJson(text, "image config");
  if (!parsed.isOk()) {
    return parsed.status();
  }
  json c = std::move(*parsed);
  if (!c.is_object()) {
    return invalidArgument(std::string("image config must be a JSON object, got ") + c.type_name());
  }
  const std::string field = "image config field ";
  for (const char* f : {"architecture", "os", "variant", "created", "author", "os.version"}) {
    NIXSNAP_RETURN_IF_ERROR(checkOptional(c, f, Kind::String, ""));
  }
  NIXSNAP_RETURN_IF_ERROR(checkOptional(c, "os.features", Kind::StringList, ""));
  if (auto it = c.find("config"); it != c.end()) {
    auto section = checkBaseSection(*it);
    if (!section.isOk()) {
      return section.status();
    }
    *it = std::move(*section);
  }
  if (auto it = c.find("rootfs"); it != c.end() && !it->is_null()) {
    NIXSNAP_RETURN_IF_ERROR(checkValue(field + quoted("rootfs"), Kind::Object, *it));
    NIXSNAP_RETURN_IF_ERROR(checkOptional(*it, "type", Kind::String, "rootfs."));
    NIXSNAP_RETURN_IF_ERROR(checkOptional(*it, "diff_ids", Kind::StringList, "rootfs."));
  }
  if (auto it = c.find("history"); it != c.end() && !it->is_null()) {
    if (!it->is_array()) {
      return invalidArgument(field + "\"history\" must be a list, got " + it->type_name());
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const json& h = (*it)[i];
      std::string what = "history[" + std::to_string(i) + "].";
      if (!h.is_object()) {
        return invalidArgument(field + "\"history[" + std::to_string(i) +
                               "]\" must be an object, got " + h.type_name());
      }
      for (const char* f : {"created", "author", "created_by", "comment"}) {
        NIXSNAP_RETURN_IF_ERROR(checkOptional(h, f, Kind::String, what));
      }
      NIXSNAP_RETURN_IF_ERROR(checkOptional(h, "empty_layer", Kind::Bool, what));
    }
  }
  return c;
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
