#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace nixsnap::nix {

/// Prefix of image references that name a Nix image archive in the store.
inline constexpr std::string_view kNixRefPrefix = "nix:0/";
/// Tag containerd's CRI adds to untagged references (docker.ParseDockerRef).
inline constexpr std::string_view kLatestTag = ":latest";

/// A parsed `nix:0/nix/store/<hash>-<name>[:latest]` reference.
struct NixImageRef {
  std::string store_path;  ///< "/nix/store/<hash>-<name>"
  std::string untagged;    ///< "nix:0/nix/store/<hash>-<name>"
  std::string tagged;      ///< untagged + ":latest": the name containerd's CRI resolves
};

/// True when `ref` is meant as a Nix reference: it starts with "nix:0" (case-insensitively),
/// so "nix:0", "nix:0x", "NIX:0/etc" and "nix:0../etc" are claimed (and then refused by
/// parseNixImageRef) rather than forwarded to containerd. Only "nix:" followed by a dotted
/// version tag such as "nix:0.1" or "nix:0.10.2" stays an ordinary reference.
bool isNixImageRef(std::string_view ref);

/// Parses a Nix image reference. Accepts exactly "nix:0" + store path + optional ":latest",
/// where the store path is `<store_dir>/<32 chars of Nix base32>-<name>` with a valid Nix
/// name that is also a valid lowercase image-reference path component (so containerd's
/// CRI can resolve the tagged name).
/// @param ref       the reference as the kubelet sent it.
/// @param store_dir absolute store directory, normally "/nix/store".
/// @return the parts; InvalidArgument naming `ref` for anything else (other prefixes,
///         other tags, digests, extra path components, "..", bad hash or name).
/// Pure; thread-safe.
Result<NixImageRef> parseNixImageRef(std::string_view ref,
                                     std::string_view store_dir = "/nix/store");

}  // namespace nixsnap::nix
