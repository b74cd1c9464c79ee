// A registry's WWW-Authenticate header (untrusted server).
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "registry/auth_challenge.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto challenges = registry::parseAuthChallenges(fuzz::asText(data, size));
  for (const auto& c : challenges) {
    NIXSNAP_FUZZ_CHECK(c.params.size() <= 32, "more than 32 parameters kept");
    for (const auto& [k, v] : c.params) {
      NIXSNAP_FUZZ_CHECK(v.size() <= 8192, "value over 8 KiB kept");
    }
  }
  return 0;
}
