#pragma once

#include <string>
#include <variant>
#include <vector>

#include "cmd/cli.h"
#include "common/log.h"
#include "image/builder.h"

namespace nixsnap::cmd {

/// nix2container's command line, parsed.
struct Nix2ContainerArgs {
  enum class Command { Build, Load, Push };
  std::string address;  ///< -a/--address, else $CONTAINERD_ADDRESS, else the system socket
  std::string ns;       ///< -n/--namespace, else $CONTAINERD_NAMESPACE, else "default"
  log::Level level = log::Level::Info;  ///< -l/--log-level
  Command command = Command::Build;
  image::BuildOptions build;  ///< build's flags (tmp_dir is left for main)
  std::string archive;        ///< load's and push's ARCHIVE
  std::string push_ref;       ///< push --ref
  bool plain_http = false;    ///< push --plain-http
  std::string authfile;       ///< push --authfile
  /// load --store-dir: the store the layers' store-path annotations must name (the
  /// snapshotter's `store_dir`); absolute, no trailing slash.
  std::string store_dir = "/nix/store";
};

/// Parses nix2container's arguments (`args` without the program name) with the original's
/// spellings: global -a/--address, -n/--namespace, -l/--log-level before the command,
/// and --version. An empty environment value counts as unset.
/// @return the arguments, or how to exit: --help/--version (0, text for stdout) or a
///         usage error such as an unknown flag or log level, or an empty OUT or ARCHIVE (2,
///         text for stderr starting "nix2container: ").
std::variant<Nix2ContainerArgs, CliExit> parseNix2ContainerArgs(
    const std::vector<std::string>& args, const Getenv& getenv);

}  // namespace nixsnap::cmd
