#pragma once

#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::image {

/// What `nix2container build --closure` names: the closure's store paths and, when the
/// list is a nixpkgs closureInfo output's `store-paths`, that closureInfo store path
/// (which the closure layer format names instead of every path).
struct ClosureInput {
  std::vector<std::string> paths;  ///< in file order, duplicates dropped
  std::string closure_info;        ///< "/nix/store/<hash>-closure-info"; empty: plain list
};

/// Reads `--closure`: a closureInfo output directory, its `store-paths` file, or a plain
/// list file anywhere. A closureInfo is recognised as a store path directory (directly,
/// or after resolving symlinks such as a `result` out-link) that holds `store-paths`;
/// `registration` is not needed.
/// @param arg       the option's value (relative or absolute).
/// @param store_dir absolute, e.g. "/nix/store".
/// @param max_bytes largest list file accepted.
/// @return the input; NotFound for a missing file (or a directory without `store-paths`);
///         InvalidArgument naming the line of a non-store-path line, or for a directory
///         that is not a closureInfo store path.
Result<ClosureInput> readClosureInput(const fs::path& arg, const fs::path& store_dir,
                                      int64_t max_bytes);

}  // namespace nixsnap::image
