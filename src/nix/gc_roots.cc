#include "nix/gc_roots.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "common/log.h"

namespace nixsnap::nix {

namespace {

/// readlink(2) of `p`; empty when it is not a symlink.
std::string readLink(const fs::path& p) {
  std::vector<char> buf(4096);
  ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size());
  if (n < 0) {
    return {};
  }
  return std::string(buf.data(), static_cast<size_t>(n));
}

Status makeSymlink(const fs::path& link, const fs::path& target) {
  if (::symlink(target.c_str(), link.c_str()) == 0) {
    return Status::ok();
  }
  int err = errno;
  if (err == EEXIST && readLink(link) == target.string()) {
    return Status::ok();
  }
  return errnoStatus(err,
                     "creating gc root \"" + link.string() + "\" -> \"" + target.string() + "\"");
}

}  // namespace

Status makeRootLink(const fs::path& root, const fs::path& store_path) {
  return makeSymlink(root, store_path);
}

Status removeRootLink(const fs::path& root) {
  if (::unlink(root.c_str()) != 0 && errno != ENOENT) {
    return errnoStatus(errno, "removing gc root \"" + root.string() + "\"");
  }
  return Status::ok();
}

namespace {

/// Entries of `dir`; ENOENT gives an empty list.
Result<std::vector<fs::path>> listDir(const fs::path& dir) {
  boost::system::error_code ec;
  fs::directory_iterator it(dir, ec);
  std::vector<fs::path> entries;
  if (ec) {
    if (ec.value() == ENOENT) {
      return entries;
    }
    return Status(errorCodeFromErrno(ec.value()),
                  "listing gc roots \"" + dir.string() + "\": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    entries.push_back(it->path());
  }
  return entries;
}

}  // namespace

Result<fs::path> detachRootDir(const fs::path& dir) {
  std::string name = dir.filename().string();
  if (name.rfind(kDetachedPrefix, 0) == 0) {
    return dir;
  }
  fs::path detached = dir.parent_path() / (kDetachedPrefix + name);
  if (::rename(dir.c_str(), detached.c_str()) != 0) {
    if (errno == ENOENT) {
      return fs::path();
    }
    return errnoStatus(errno, "detaching gc roots \"" + dir.string() + "\"");
  }
  return detached;
}

Status removeDetachedRootDir(const fs::path& detached, const std::function<bool()>& keep_going) {
  Result<std::vector<fs::path>> entries = listDir(detached);
  if (!entries.isOk()) {
    return entries.status();
  }
  Status first;
  for (const fs::path& e : *entries) {
    if (keep_going && !keep_going()) {
      return Status::ok();
    }
    Status st = removeRootLink(e);
    if (!st.isOk() && first.isOk()) {
      first = st;
    }
  }
  if (::rmdir(detached.c_str()) != 0 && errno != ENOENT && first.isOk()) {
    first = errnoStatus(errno, "removing gc root directory \"" + detached.string() + "\"");
  }
  return first;
}

RootRollback::~RootRollback() {
  if (dismissed_) {
    return;
  }
  for (const fs::path& root : roots_) {
    Status st = removeRootLink(root);
    if (!st.isOk()) {
      NIXSNAP_LOG(Warn, "failed to remove gc root", {{"error", st.message()}});
    }
  }
  ::rmdir(dir_.c_str());
}

}  // namespace nixsnap::nix
