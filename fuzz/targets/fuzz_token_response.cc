// A token server's answer and a registry's error body (untrusted servers).
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "registry/registry_auth.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(fuzz::asText(data, size));
  auto token = registry::parseTokenResponse(body);
  fuzz::checkError(token.status());
  if (token.isOk()) {
    NIXSNAP_FUZZ_CHECK(!token->empty() && token->size() <= 64 * 1024, "token size");
    for (unsigned char c : *token) {
      NIXSNAP_FUZZ_CHECK(c > 0x20 && c < 0x7f, "token with a non-visible character");
    }
  }
  std::string msg = registry::registryErrorMessage(body);
  NIXSNAP_FUZZ_CHECK(msg.size() <= 210, "error message over its bound");
  return 0;
}
