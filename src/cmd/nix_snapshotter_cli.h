#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cmd/cli.h"
#include "config/config.h"

namespace nixsnap::cmd {

/// nix-snapshotter's command line, parsed.
struct SnapshotterArgs {
  std::optional<std::string> config_path;  ///< -c/--config; unset: the default path, optional
  config::Overrides overrides;             ///< -a/--address, --root, -l/--log-level
};

/// Parses nix-snapshotter's arguments (`args` without the program name) with the
/// original's spellings: -c/--config, -a/--address, --root, -l/--log-level, and
/// -v/--version. The log level is checked later, with the config file's (config::validate).
/// @return the arguments, or how to exit: --help/--version (0, text for stdout) or a
///         usage error (non-zero, text for stderr).
std::variant<SnapshotterArgs, CliExit> parseSnapshotterArgs(const std::vector<std::string>& args);

}  // namespace nixsnap::cmd
