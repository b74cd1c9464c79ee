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
///         twice in different spellings, a value of the wrong type, or a NUL character
///         in Entrypoint, Cmd, Env, WorkingDir, User (and the element), StopSignal or a
///         Labels key or value (and the label).
Result<nlohmann::json> parseUserConfig(std::string_view text);

/// Parses a whole OCI image config blob (a --from-image base's, or an archive's the
/// daemon loads): a JSON object whose known fields have their spec types (architecture,
/// os, variant, created, author: strings; config: an object whose known keys have the
/// types parseUserConfig wants, null allowed as Go's decoder does, other keys kept;
/// rootfs: {type: string, diff_ids: [string]}; history: [{...strings, empty_layer: bool}]).
/// Keys of the config section come back in their canonical spelling; its Entrypoint, Cmd,
/// Env, WorkingDir, User, StopSignal and Labels must hold no NUL character, as for
/// parseUserConfig.
/// @return the config; InvalidArgument naming the field and the type found, never throws.
Result<nlohmann::json> parseImageConfig(std::string_view text);

/// Combines a base image's config section with the user's (docs/image-format.md):
/// the user's keys replace the base's, except Env (merged by variable name, base order
/// first, user values win), Labels (merged, user wins), ExposedPorts and Volumes (union).
/// A user Entrypoint without Cmd drops the base Cmd (Dockerfile ENTRYPOINT semantics).
nlohmann::json mergeConfig(const nlohmann::json& base, const nlohmann::json& user);

}  // namespace nixsnap::image
