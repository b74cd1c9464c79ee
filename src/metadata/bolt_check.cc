#include "metadata/bolt_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.h"

namespace nixsnap::metadata {

bool isBoltDatabase(const fs::path& path) {
  // O_NONBLOCK: a FIFO in its place must not hang the daemon's start.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return false;
  }
  unsigned char bytes[kBoltMagicOffset + 4];
  if (::pread(fd.get(), bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    return false;
  }
  const unsigned char* m = bytes + kBoltMagicOffset;
  // bbolt writes its native byte order: little-endian on x86/arm, big-endian on s390x.
  const uint32_t le = m[0] | m[1] << 8 | m[2] << 16 | static_cast<uint32_t>(m[3]) << 24;
  const uint32_t be = m[3] | m[2] << 8 | m[1] << 16 | static_cast<uint32_t>(m[0]) << 24;
  return le == kBoltMagic || be == kBoltMagic;
}

Status refuseBoltDatabase(const fs::path& db_path) {
  if (!isBoltDatabase(db_path)) {
    return Status::ok();
  }
  const std::string root = db_path.parent_path().string();
  return Status(
      ErrorCode::FailedPrecondition,
      "metadata database \"" + db_path.string() +
          "\" is a bbolt database, as the original Go nix-snapshotter writes; this "
          "nix-snapshotter keeps its metadata in SQLite and cannot read it. Move the root \"" +
          root +
          "\" away (or point --root, or root in the config, at another directory) and "
          "start again; images unpacked under the old root must be pulled or loaded again");
}

}  // namespace nixsnap::metadata
