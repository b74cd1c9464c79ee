#include "cmd/cli.h"

namespace nixsnap::cmd {

// NIXSNAP_VERSION comes from CMake's project(VERSION ...) (src/cmd/CMakeLists.txt).
const char* version() { return NIXSNAP_VERSION; }

}  // namespace nixsnap::cmd
