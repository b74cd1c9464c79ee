// nix2container's --closure (store paths, one a line, or closureInfo's store-paths) and
// --copy-to-root files: every accepted path is a store path under the store dir.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "image/nix_layer_format.h"
#include "nix/store_path.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::asText(data, size);
  const fs::path store = "/nix/store";
  auto closure = image::parseClosure(text, store);
  fuzz::checkError(closure.status());
  if (closure.isOk()) {
    for (const auto& p : *closure) {
      NIXSNAP_FUZZ_CHECK(nix::checkStorePathSyntax(store, p).isOk(), p);
    }
  }
  auto roots = image::parseCopyToRoot(text, store);
  fuzz::checkError(roots.status());
  if (roots.isOk()) {
    for (const auto& p : *roots) {
      NIXSNAP_FUZZ_CHECK(nix::checkStorePathSyntax(store, p).isOk(), p);
    }
  }
  return 0;
}
