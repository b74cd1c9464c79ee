#pragma once

#include <string_view>

#include "common/status.h"

namespace nixsnap::oci {

/// Checks that `ref` is an image reference containerd accepts as an image name:
/// `[host[:port]/]component(/component)*[:tag][@sha256:<64 hex>]`, where a component is
/// lowercase [a-z0-9] runs joined by '.', '_', '__' or runs of '-', a host is
/// [A-Za-z0-9-] labels joined by '.', a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} and the
/// name part is at most 255 characters. "nix:0/nix/store/<hash>-<name>:latest" passes
/// (host "nix", port "0").
/// @param ref  the reference to check (CLI input or a name read from an archive).
/// @param what how the caller calls it, e.g. "--ref" or "image name in index.json".
/// @return OK, or InvalidArgument naming `what` and `ref`. Pure; thread-safe.
Status validateImageReference(std::string_view ref, std::string_view what);

/// True when `part` is one path component of an image name: lowercase [a-z0-9] runs
/// joined by '.', '_', '__' or runs of '-' (containerd's reference grammar). The one home
/// of that rule; nix/image_ref uses it for the store path a nix:0 reference names.
/// Pure; thread-safe.
bool isValidReferenceComponent(std::string_view part);

}  // namespace nixsnap::oci
