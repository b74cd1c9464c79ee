// An untrusted image archive (tar, plain or compressed) as nix2container --from-image and
// the daemon's nix:0 loader read it: extraction (members, paths, links, limits), then the
// OCI layout (oci-layout, index.json, manifests) or docker archive (manifest.json), then
// the image config the builder and the loader parse, and the loader's CRI checks.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "image/archive_validation.h"
#include "image/image_config.h"
#include "oci/archive_reader.h"
#include "oci/layout.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& scratch = fuzz::scratchDir();
  fs::path archive = scratch / "archive";
  fs::path dest = scratch / "x";
  boost::system::error_code ec;
  fs::remove_all(dest, ec);
  fs::create_directory(dest);
  fuzz::writeBytes(archive, fuzz::asText(data, size));
  // Small caps keep each run fast; the default caps are the same code with larger numbers.
  oci::ExtractLimits limits;
  limits.max_metadata_bytes = 64 << 10;
  limits.max_total_bytes = 8 << 20;
  limits.max_members = 256;
  Status st = oci::extractImageArchive(archive, dest, limits);
  fuzz::checkError(st);
  if (st.isOk()) {
    auto layout = oci::openLayout(dest);
    fuzz::checkError(layout.status());
    if (layout.isOk()) {
      NIXSNAP_FUZZ_CHECK(layout->image.diff_ids.size() == layout->image.manifest.layers.size(),
                         "layout accepted with diff_ids not matching layers");
      fuzz::checkError(image::parseImageConfig(layout->image.config_json).status());
      fuzz::checkError(image::validateArchiveForCri(*layout));
    }
  }
  fs::remove_all(dest, ec);
  return 0;
}
