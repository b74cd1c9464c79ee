#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace nixsnap {

// Typed reading of the fields of untrusted JSON documents (OCI index and manifest, docker
// manifest.json): each field is named by its path in errors, and nothing throws.

/// Path of member `key` of the value at `where`: "manifests[0]" + "digest" is
/// "manifests[0].digest"; at the document itself ("") the key alone. A key longer than
/// 64 bytes (an annotation's, from the document) is cut there and ends in "...".
std::string jsonMemberPath(const std::string& where, std::string_view key);

/// Path of element `index` of the list at `where`: "manifests" + 0 is "manifests[0]".
std::string jsonElementPath(const std::string& where, size_t index);

/// The one wording of a field of the wrong type: InvalidArgument
/// "<where>: expected <want>, got <JSON type>" ("manifests[0].digest: expected a string,
/// got number"); for the document itself (`where` empty) "expected <want>, got <type>".
/// @param want  with its article: "a string", "a list of strings", "an object".
Status jsonTypeError(const std::string& where, std::string_view want, const nlohmann::json& got);

/// Ok when `v` is an object, else jsonTypeError(where, "an object", v).
Status expectJsonObject(const nlohmann::json& v, const std::string& where);

/// Member `key` of `obj` when `obj` is an object holding it with a value other than null,
/// else nullptr: absent and null are the same, as Go's decoder reads null as zero.
const nlohmann::json* jsonMember(const nlohmann::json& obj, std::string_view key);

/// Readers of member `key` of the object `obj` found at `where`. An absent or null member
/// leaves `out` as it is, or is InvalidArgument "<path>: missing" when `required`.
/// @return InvalidArgument naming the member's path and the type found
///         ("layers[1]: expected a string, got number"); never throws.
Status readJsonString(const nlohmann::json& obj, std::string_view key, const std::string& where,
                      bool required, std::string& out);
Status readJsonStringList(const nlohmann::json& obj, std::string_view key, const std::string& where,
                          bool required, std::vector<std::string>& out);
/// An object of strings (OCI annotations).
Status readJsonStringMap(const nlohmann::json& obj, std::string_view key, const std::string& where,
                         std::map<std::string, std::string>& out);

}  // namespace nixsnap
