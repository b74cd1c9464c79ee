#include "nix/gc_roots.h"

#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "common/log.h"

namespace nixsnap::nix {

namespace {

std::string sha256Hex(const std::string& s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  std::string out;
  char buf[3];
  for (unsigned char c : md) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

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
  return errnoStatus(err, "creating gc root \"" + link.string() + "\" -> \"" +
                              target.string() + "\"");
}

}  // namespace

fs::path autoRootLink(const fs::path& nix_state_dir, const fs::path& root) {
  return nix_state_dir / "gcroots" / "auto" / sha256Hex(root.string());
}

Status addIndirectRoot(const fs::path& nix_state_dir, const fs::path& root,
                       const fs::path& store_path) {
  NIXSNAP_RETURN_IF_ERROR(makeSymlink(root, store_path));
  fs::path link = autoRootLink(nix_state_dir, root);
  Status st = makeSymlink(link, root);
  if (st.code() != ErrorCode::NotFound) {
    return st;
  }
  // First root on this machine: create gcroots/auto (only then, to save a stat per path).
  boost::system::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) {
    return Status(errorCodeFromErrno(ec.value()),
                  "creating \"" + link.parent_path().string() + "\": " + ec.message());
  }
  return makeSymlink(link, root);
}

namespace {

/// Removes the registration of `registered` (if it still points there), then `actual`.
Status removeRootAt(const fs::path& nix_state_dir, const fs::path& registered,
                    const fs::path& actual) {
  Status first;
  fs::path link = autoRootLink(nix_state_dir, registered);
  if (readLink(link) == registered.string() && ::unlink(link.c_str()) != 0 && errno != ENOENT) {
    first = errnoStatus(errno, "removing gc root registration \"" + link.string() + "\"");
  }
  if (::unlink(actual.c_str()) != 0 && errno != ENOENT && first.isOk()) {
    first = errnoStatus(errno, "removing gc root \"" + actual.string() + "\"");
  }
  return first;
}

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

Status removeIndirectRoot(const fs::path& nix_state_dir, const fs::path& root) {
  return removeRootAt(nix_state_dir, root, root);
}

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

Status removeDetachedRootDir(const fs::path& nix_state_dir, const fs::path& detached,
                             const std::function<bool()>& keep_going) {
  std::string name = detached.filename().string();
  fs::path original = detached.parent_path() /
                      (name.rfind(kDetachedPrefix, 0) == 0
                           ? name.substr(std::string_view(kDetachedPrefix).size())
                           : name);
  Result<std::vector<fs::path>> entries = listDir(detached);
  if (!entries.isOk()) {
    return entries.status();
  }
  Status first;
  for (const fs::path& e : *entries) {
    if (keep_going && !keep_going()) {
      return Status::ok();
    }
    Status st = removeRootAt(nix_state_dir, original / e.filename(), e);
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
    Status st = removeIndirectRoot(nix_state_dir_, root);
    if (!st.isOk()) {
      NIXSNAP_LOG(Warn, "failed to remove gc root", {{"error", st.message()}});
    }
  }
  ::rmdir(dir_.c_str());
}

}  // namespace nixsnap::nix
