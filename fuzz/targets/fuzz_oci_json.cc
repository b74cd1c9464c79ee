// OCI/Docker manifests and indexes (index.json, manifest blobs, registry answers):
// parse, and a parsed value must survive its own canonical serialisation.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "oci/types.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::asText(data, size);
  auto m = oci::parseManifest(text);
  fuzz::checkError(m.status());
  if (m.isOk()) {
    auto again = oci::parseManifest(oci::toJson(*m));
    NIXSNAP_FUZZ_CHECK(again.isOk(), again.status().message());
    NIXSNAP_FUZZ_CHECK(oci::toJson(*again) == oci::toJson(*m), "manifest not byte-stable");
  }
  auto i = oci::parseIndex(text);
  fuzz::checkError(i.status());
  if (i.isOk()) {
    auto again = oci::parseIndex(oci::toJson(*i));
    NIXSNAP_FUZZ_CHECK(again.isOk(), again.status().message());
    NIXSNAP_FUZZ_CHECK(oci::toJson(*again) == oci::toJson(*i), "index not byte-stable");
  }
  return 0;
}
