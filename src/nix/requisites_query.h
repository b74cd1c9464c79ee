#pragma once

#include <string>
#include <vector>

#include "common/fs.h"
#include "common/process_runner.h"
#include "common/status.h"

namespace nixsnap::nix {

/// Most output accepted from one `nix-store --query --requisites` (64 MiB: about 600,000
/// store paths), so a runaway closure cannot exhaust the daemon's memory.
inline constexpr size_t kMaxRequisitesOutputBytes = 64u << 20;

/// Runs `<program> --query --requisites <store_path>` and returns its lines (store paths,
/// in Nix's order). Shared by NixStoreCli and ExternalBuilderStore: the external builder
/// contract only realises, so both query Nix's database the same way.
/// @return Unavailable when `program` cannot be started; FailedPrecondition when Nix says
///         the path is not valid; Internal for any other failure (with Nix's stderr).
Result<std::vector<fs::path>> queryRequisites(ProcessRunner& runner, const std::string& program,
                                              const fs::path& store_path);

/// The closure of `store_path`: from Nix's database (nixDbRequisites, milliseconds) when
/// `<nix_state_dir>/db` holds one of the known schema, else from queryRequisites.
/// @return as queryRequisites; FailedPrecondition for a path that is not valid.
Result<std::vector<fs::path>> requisitesOf(ProcessRunner& runner, const std::string& program,
                                           const fs::path& nix_state_dir,
                                           const fs::path& store_path);

}  // namespace nixsnap::nix
