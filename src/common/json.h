#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace nixsnap {

/// Deepest nesting parseJson() accepts. nlohmann's parser is iterative, but copying,
/// comparing and dump() of a value recurse once per level: a hostile document nested
/// 100,000 deep overflows the stack of whoever copies it later. Real OCI documents,
/// registry replies and credential files nest under 10 levels.
inline constexpr size_t kMaxJsonDepth = 128;

/// Parses untrusted JSON text. Never throws.
/// @param what  names the document in errors ("image config", "manifest").
/// @return the value; InvalidArgument naming `what` for malformed text (nlohmann's
///         message, with its byte position) or nesting deeper than `max_depth`.
Result<nlohmann::json> parseJson(std::string_view text, std::string_view what,
                                 size_t max_depth = kMaxJsonDepth);

/// nlohmann's message without its "[json.exception.type_error.302] " tag, for an error a
/// user reads: "type must be string, but is number".
std::string jsonErrorText(const nlohmann::json::exception& e);

}  // namespace nixsnap
