// The daemon's TOML config (/etc/nix-snapshotter/config.toml), as loadConfig hands it to
// parseConfig (at most kMaxConfigBytes), then the checks the daemon runs before serving.
#include <cstddef>
#include <cstdint>

#include "config/config.h"
#include "fuzz_util.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > config::kMaxConfigBytes) {
    return -1;  // loadConfig refuses larger files before parsing
  }
  auto c = config::parseConfig(fuzz::asText(data, size), "fuzz.toml");
  fuzz::checkError(c.status());
  if (c.isOk()) {
    fuzz::checkError(config::validate(*c));
  }
  return 0;
}
