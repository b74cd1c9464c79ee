#include "server/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "common/hex.h"
#include "common/log.h"
#include "common/unique_fd.h"

namespace nixsnap::server {
namespace {

constexpr size_t kMaxSunPath = sizeof(sockaddr_un{}.sun_path);

Status ensureDirectory(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    NIXSNAP_LOG(Info, "created socket directory", {{"path", dir.string()}});
    return Status::ok();
  }
  const int err = errno;
  if (err == EEXIST) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      return errnoStatus(errno, "checking socket directory " + dir.string());
    }
    if (!S_ISDIR(st.st_mode)) {
      return failedPrecondition("preparing socket directory " + dir.string() +
                                ": exists and is not a directory");
    }
    return Status::ok();
  }
  if (err == ENOENT) {
    // Parent missing: create the chain, then tighten the last component.
    NIXSNAP_RETURN_IF_ERROR(ensureDirectory(dir.parent_path()));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return errnoStatus(errno, "creating socket directory " + dir.string());
    }
    return Status::ok();
  }
  return errnoStatus(err, "creating socket directory " + dir.string());
}

constexpr std::string_view kStagingSuffix = ".sock.new";

/// True for a name stagingSocketPath makes: ".<pid>-<8 hex>.sock.new".
bool isStagingName(const std::string& name) {
  if (name.size() <= 1 + kStagingSuffix.size() || name.front() != '.' ||
      name.compare(name.size() - kStagingSuffix.size(), kStagingSuffix.size(), kStagingSuffix) !=
          0) {
    return false;
  }
  const std::string middle = name.substr(1, name.size() - 1 - kStagingSuffix.size());
  const size_t dash = middle.find('-');
  return dash != std::string::npos && dash > 0 && middle.find_first_not_of("0123456789") == dash &&
         middle.size() == dash + 9 && isLowerHex(std::string_view(middle).substr(dash + 1));
}

/// Removes staging sockets that a daemon killed between bind(2) and rename(2) left in
/// `dir` (only sockets with the staging name that nobody serves).
void removeStaleStagingSockets(const fs::path& dir) {
  boost::system::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    struct stat st {};
    if (isStagingName(p.filename().string()) && ::lstat(p.c_str(), &st) == 0 &&
        S_ISSOCK(st.st_mode) && !socketIsServed(p) && ::unlink(p.c_str()) == 0) {
      NIXSNAP_LOG(Info, "removed stale staging socket", {{"path", p.string()}});
    }
  }
}

}  // namespace

bool socketIsServed(const fs::path& address) {
  if (address.string().size() >= kMaxSunPath) {
    return false;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address.c_str(), address.string().size());
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

fs::path stagingSocketPath(const fs::path& address, Random& random) {
  // The random part keeps names apart across pid namespaces sharing the directory and
  // makes them unguessable for others who can write there.
  fs::path staging = address.parent_path() / ("." + std::to_string(::getpid()) + "-" +
                                              randomHex(random, 8) + std::string(kStagingSuffix));
  return staging.string().size() < kMaxSunPath ? staging : address;
}

Result<SocketFile> publishSocket(const fs::path& staging, const fs::path& address) {
  struct stat st {};
  if (::lstat(staging.c_str(), &st) != 0) {
    const int err = errno;
    ::unlink(staging.c_str());
    return errnoStatus(err, "publishing socket " + address.string());
  }
  if (staging == address) {
    return SocketFile{st.st_dev, st.st_ino};
  }
  // link(2), unlike rename(2), never replaces: a daemon that lost a start race fails
  // here instead of taking over the address.
  const int rc = ::link(staging.c_str(), address.c_str());
  const int err = errno;
  ::unlink(staging.c_str());
  if (rc != 0) {
    if (err == EEXIST) {
      return alreadyExists("publishing socket " + address.string() +
                           ": another process created it meanwhile (is nix-snapshotter already "
                           "running?)");
    }
    return errnoStatus(err, "publishing socket " + staging.string() + " as " + address.string());
  }
  return SocketFile{st.st_dev, st.st_ino};
}

void removeSocket(const fs::path& address, const SocketFile& ours) {
  struct stat st {};
  if (::lstat(address.c_str(), &st) != 0) {
    return;
  }
  if (st.st_dev != ours.dev || st.st_ino != ours.ino) {
    NIXSNAP_LOG(Warn, "socket replaced by another process; left in place",
                {{"path", address.string()}});
    return;
  }
  if (::unlink(address.c_str()) != 0 && errno != ENOENT) {
    NIXSNAP_LOG(Warn, "cannot remove socket", {{"path", address.string()}});
  }
}

Status prepareSocketPath(const fs::path& address) {
  if (!address.is_absolute()) {
    return invalidArgument("preparing socket \"" + address.string() + "\": not an absolute path");
  }
  if (address.string().size() >= kMaxSunPath) {
    return invalidArgument("preparing socket \"" + address.string() + "\": path longer than " +
                           std::to_string(kMaxSunPath - 1) + " bytes");
  }
  NIXSNAP_RETURN_IF_ERROR(ensureDirectory(address.parent_path()));
  removeStaleStagingSockets(address.parent_path());

  struct stat st {};
  if (::lstat(address.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Status::ok();
    }
    return errnoStatus(errno, "checking socket " + address.string());
  }
  if (!S_ISSOCK(st.st_mode)) {
    return failedPrecondition("preparing socket " + address.string() +
                              ": path exists and is not a socket");
  }
  if (socketIsServed(address)) {
    return alreadyExists("preparing socket " + address.string() +
                         ": another process is serving it (is nix-snapshotter already running?)");
  }
  if (::unlink(address.c_str()) != 0 && errno != ENOENT) {
    return errnoStatus(errno, "removing stale socket " + address.string());
  }
  NIXSNAP_LOG(Info, "removed stale socket", {{"path", address.string()}});
  return Status::ok();
}

}  // namespace nixsnap::server
