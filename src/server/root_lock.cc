#include "server/root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

namespace nixsnap::server {

Result<UniqueFd> lockRoot(const fs::path& root) {
  boost::system::error_code ec;
  if (fs::create_directories(root, ec)) {
    ::chmod(root.c_str(), 0700);
  }
  if (ec) {
    return Status(errorCodeFromErrno(ec.value()),
                  "creating root " + root.string() + ": " + ec.message());
  }
  const fs::path file = root / kRootLockName;
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return errnoStatus(errno, "opening lock " + file.string());
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return alreadyExists("locking root " + root.string() +
                           ": another nix-snapshotter is using it");
    }
    return errnoStatus(errno, "locking " + file.string());
  }
  return fd;
}

}  // namespace nixsnap::server
