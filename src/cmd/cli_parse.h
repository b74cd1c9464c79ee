#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cmd/cli.h"

namespace nixsnap::cmd {

/// Runs `app` over `args` (no program name). CLI11 reports --help, --version and usage
/// errors by exception; they come back as the CliExit to end with, text captured, a usage
/// error's (exit code 2) prefixed with the app's name ("nix2container: ...").
std::optional<CliExit> parseWith(CLI::App& app, const std::vector<std::string>& args);

}  // namespace nixsnap::cmd
