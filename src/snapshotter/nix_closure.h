#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::snapshotter {

/// Largest `store-paths` file accepted: 16 MiB, about 150,000 store paths, fifteen times
/// a large (10,000-path) closure.
inline constexpr size_t kMaxClosureFileBytes = 16u << 20;

/// Reads the store paths a closure-format layer binds: `<closure>/store-paths` of a
/// nixpkgs closureInfo output (one store path per line, next to a `registration` file).
///
/// The file is hostile input (it comes from whoever built or served the closure), so:
/// `closure` must be a directory holding regular files `store-paths` and `registration`
/// (not symlinks), `store-paths` at most kMaxClosureFileBytes; every line must be a store
/// path (nix::checkStorePathSyntax: inside `store_dir`, no `..`, nothing after it) AND one
/// of `requisites`, the closure of `closure` in Nix's database. The last check is what
/// makes the one GC root on `closure` enough: every path bound is kept alive by it, and a
/// line naming anything else (a host directory, another store path) is refused. Empty
/// lines are refused, except after the final newline; repeated paths are listed once.
///
/// @param store_dir   absolute store dir, e.g. "/nix/store".
/// @param closure     a validated, realised store path "/nix/store/<hash>-<name>".
/// @param requisites  `nix-store --query --requisites <closure>`.
/// @return the paths in file order; InvalidArgument naming the closure and the file, line
///         number and text of the first bad line, or saying why `closure` is no closureInfo;
///         the errno class when the file cannot be read.
Result<std::vector<fs::path>> readClosureStorePaths(
    const fs::path& store_dir, const fs::path& closure,
    const std::unordered_set<std::string>& requisites);

}  // namespace nixsnap::snapshotter
