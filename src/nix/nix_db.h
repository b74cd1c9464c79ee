#pragma once

#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::nix {

/// The Nix database schema version whose tables nixDbRequisites reads
/// (`<nix_state_dir>/db/schema`; 10 since Nix 2.0).
inline constexpr char kNixDbSchema[] = "10";

/// The closure of `store_path` read straight from Nix's database, read-only: the same set
/// as `nix-store --query --requisites`, in one SQL query. Why: Nix 2.8 needs about 0.6 s
/// to print a 10,000-path closure, the whole Prepare budget of a closure layer; the
/// query takes milliseconds. Tables read: ValidPaths(id, path) and Refs(referrer,
/// reference), unchanged across Nix versions with schema kNixDbSchema, which is checked
/// first. WAL readers never block Nix's writers.
/// @param nix_state_dir absolute, e.g. "/nix/var/nix" (the database is db/db.sqlite).
/// @param store_path    a validated "/nix/store/<hash>-<name>" path.
/// @return the paths (the path itself included, order unspecified); FailedPrecondition
///         when the path is not valid; Unavailable when there is no readable database of
///         the known schema (callers fall back to `nix-store`); Internal for SQLite errors.
/// Thread-safe (a connection per call).
Result<std::vector<fs::path>> nixDbRequisites(const fs::path& nix_state_dir,
                                              const fs::path& store_path);

}  // namespace nixsnap::nix
