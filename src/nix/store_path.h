#pragma once

#include <string_view>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::nix {

/// Nix's base32 alphabet (no e, o, u, t).
inline constexpr std::string_view kNixBase32Chars = "0123456789abcdfghijklmnpqrsvwxyz";
/// Length of the hash part of a store path's basename.
inline constexpr size_t kStoreHashLength = 32;
/// Longest name part Nix accepts.
inline constexpr size_t kMaxStoreNameLength = 211;

/// Checks the text of a store path without touching the disk: exactly
/// `<store_dir>/<32 chars of Nix base32>-<name>`, name of [A-Za-z0-9+-._?=] not starting
/// with '.', at most 211 chars, nothing after it (no '/', no trailing slash).
/// @param store_dir absolute, no trailing slash, e.g. "/nix/store".
/// @return InvalidArgument naming the text and the first rule it breaks.
/// Source: Nix libstore path.cc (checkName, StorePath parsing).
Status checkStorePathSyntax(const fs::path& store_dir, std::string_view text);

/// checkStorePathSyntax, then the disk check for hostile input: if the store path
/// exists and is a symlink, resolving it must stay inside `store_dir` (whose own
/// symlinks are resolved too). A missing path is accepted (it may be substituted later).
/// @return the path; InvalidArgument as above or for a symlink leading out of the store.
Result<fs::path> parseStorePath(const fs::path& store_dir, std::string_view text);

/// The disk check before a store path is handed out as a bind-mount source (after
/// realisation, or for a child's binds): `path` (already syntax-checked) must exist, and
/// if it is a symlink it must resolve to an existing place inside `store_dir`. Guards
/// against a path that was missing at validation and later substituted as `ln -s /etc`.
/// @return Ok; FailedPrecondition when the path (or its symlink target) does not exist;
///         InvalidArgument for a symlink leading out of the store; the errno class when
///         lstat fails otherwise.
Status checkStorePathOnDisk(const fs::path& store_dir, const fs::path& path);

}  // namespace nixsnap::nix
