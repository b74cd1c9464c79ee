#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace nixsnap::image {

/// Parses a user image config (the OCI "config" section: Entrypoint, Cmd, Env,
/// WorkingDir, User, ExposedPorts, Labels, Volumes, StopSignal). Keys match
/// case-insensitively ("entrypoint" == "Entrypoint", as Go's JSON decoding in the original
/// accepts) and come back in their canonical spelling; values are type-checked.
/// @return the canonical object; InvalidArgument naming an unknown key, a key given
///         twice in different spellings, or a value of the wrong type.
Result<nlohmann::json> parseUserConfig(std::string_view text);

/// Combines a base image's config section with the user's (docs/image-format.md):
/// the user's keys replace the base's, except Env (merged by variable name, base order
/// first, user values win), Labels (merged, user wins), ExposedPorts and Volumes (union).
/// A user Entrypoint without Cmd drops the base Cmd (Dockerfile ENTRYPOINT semantics).
nlohmann::json mergeConfig(const nlohmann::json& base, const nlohmann::json& user);

}  // namespace nixsnap::image
