#include "common/small_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace nixsnap {

Result<std::string> readSmallFile(const fs::path& path, int64_t max_bytes, bool follow_symlinks) {
  // O_NONBLOCK: a FIFO fails the regular-file check below instead of blocking open().
  UniqueFd fd(
      ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow_symlinks ? 0 : O_NOFOLLOW)));
  if (!fd.valid()) {
    return errnoStatus(errno, "opening " + path.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return errnoStatus(errno, "stat " + path.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return invalidArgument(path.string() + " is not a regular file");
  }
  if (st.st_size > max_bytes) {
    return invalidArgument(path.string() + " is " + std::to_string(st.st_size) +
                           " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return internalError("reading " + path.string() + ": short read");
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace nixsnap
