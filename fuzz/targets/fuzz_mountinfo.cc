// /proc/self/mountinfo lines (octal escapes, field counts), as read before deleting a
// snapshot directory: every mount point returned must be at or under the directory.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "mount/mount_table.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fs::path file = fuzz::scratchDir() / "mountinfo";
  fuzz::writeBytes(file, fuzz::asText(data, size));
  // A directory that does not exist: no symlink resolution depends on the machine.
  const fs::path dir = "/nonexistent-nixsnap-fuzz/snapshots";
  auto points = mount::mountPointsUnder(dir, file);
  fuzz::checkError(points.status());
  if (points.isOk()) {
    for (const auto& p : *points) {
      std::string s = p.string();
      NIXSNAP_FUZZ_CHECK(s == dir.string() || s.rfind(dir.string() + "/", 0) == 0,
                         "mount point outside the directory: " + s);
    }
  }
  return 0;
}
