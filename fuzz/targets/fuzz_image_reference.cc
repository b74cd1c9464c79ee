// Image references: any name a CRI client, nix2container's --ref or a registry push takes
// (oci::validateImageReference, registry::parseReference, docker-name normalisation) and
// nix:0 references the image service resolves from the Nix store.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "nix/image_ref.h"
#include "oci/layout.h"
#include "oci/reference.h"
#include "registry/client.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string ref(fuzz::asText(data, size));
  Status valid = oci::validateImageReference(ref, "fuzz");
  fuzz::checkError(valid);
  auto r = registry::parseReference(ref);
  fuzz::checkError(r.status());
  if (r.isOk()) {
    NIXSNAP_FUZZ_CHECK(!r->host.empty() && !r->repository.empty() && !r->tag.empty(), ref);
  }
  (void)oci::normalizeDockerName(ref);
  bool claimed = nix::isNixImageRef(ref);
  auto n = nix::parseNixImageRef(ref);
  fuzz::checkError(n.status());
  if (n.isOk()) {
    NIXSNAP_FUZZ_CHECK(claimed, "parsed a nix:0 reference isNixImageRef does not claim");
    NIXSNAP_FUZZ_CHECK(n->store_path.rfind("/nix/store/", 0) == 0, n->store_path);
    NIXSNAP_FUZZ_CHECK(n->tagged == n->untagged + ":latest", n->tagged);
  }
  return 0;
}
