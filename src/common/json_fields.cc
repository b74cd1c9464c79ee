#include "common/json_fields.h"

namespace nixsnap {
namespace {

using nlohmann::json;

/// Longest key a path quotes: keys of annotations come from the document.
constexpr size_t kMaxKeyInPath = 64;

Status missing(const std::string& path) { return invalidArgument(path + ": missing"); }

}  // namespace

std::string jsonMemberPath(const std::string& where, std::string_view key) {
  std::string shown(key.substr(0, kMaxKeyInPath));
  if (key.size() > kMaxKeyInPath) {
    shown += "...";
  }
  return where.empty() ? shown : where + "." + shown;
}

std::string jsonElementPath(const std::string& where, size_t index) {
  return where + "[" + std::to_string(index) + "]";
}

Status jsonTypeError(const std::string& where, std::string_view want, const json& got) {
  std::string text = "expected " + std::string(want) + ", got " + got.type_name();
  return invalidArgument(where.empty() ? text : where + ": " + text);
}

Status expectJsonObject(const json& v, const std::string& where) {
  return v.is_object() ? Status::ok() : jsonTypeError(where, "an object", v);
}

const json* jsonMember(const json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

Status readJsonString(const json& obj, std::string_view key, const std::string& where,
                      bool required, std::string& out) {
  const json* v = jsonMember(obj, key);
  if (v == nullptr) {
    return required ? missing(jsonMemberPath(where, key)) : Status::ok();
  }
  if (!v->is_string()) {
    return jsonTypeError(jsonMemberPath(where, key), "a string", *v);
  }
  out = v->get<std::string>();
  return Status::ok();
}

Status readJsonStringList(const json& obj, std::string_view key, const std::string& where,
                          bool required, std::vector<std::string>& out) {
  const std::string path = jsonMemberPath(where, key);
  const json* v = jsonMember(obj, key);
  if (v == nullptr) {
    return required ? missing(path) : Status::ok();
  }
  if (!v->is_array()) {
    return jsonTypeError(path, "a list of strings", *v);
  }
  std::vector<std::string> list;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (!e.is_string()) {
      return jsonTypeError(jsonElementPath(path, i), "a string", e);
    }
    list.push_back(e.get<std::string>());
  }
  out = std::move(list);
  return Status::ok();
}

Status readJsonStringMap(const json& obj, std::string_view key, const std::string& where,
                         std::map<std::string, std::string>& out) {
  const std::string path = jsonMemberPath(where, key);
  const json* v = jsonMember(obj, key);
  if (v == nullptr) {
    return Status::ok();
  }
  if (!v->is_object()) {
    return jsonTypeError(path, "an object of strings", *v);
  }
  std::map<std::string, std::string> map;
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string()) {
      return jsonTypeError(jsonMemberPath(path, k), "a string", e);
    }
    map.emplace(k, e.get<std::string>());
  }
  out = std::move(map);
  return Status::ok();
}

}  // namespace nixsnap
