#pragma once

#include <functional>
#include <string>
#include <vector>

namespace nixsnap::cmd {

/// The project's version (CMake's PROJECT_VERSION, the one place it is written).
const char* version();

/// How a command line ended when the program must not go on: --help or --version
/// (code 0, text on `out`) or a usage error (non-zero, text on `err`).
struct CliExit {
  int code = 0;
  std::string out;
  std::string err;
};

/// Environment lookup, injectable for tests (std::getenv in main).
using Getenv = std::function<const char*(const char*)>;

}  // namespace nixsnap::cmd
