// The real HostProbe: /proc/self/uid_map, stat/access(2) and a probe overlay mount.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "server/rootless_mode.h"

namespace nixsnap::server {

namespace {

Status statDir(const fs::path& dir, struct stat& st) {
  if (::stat(dir.c_str(), &st) != 0) {
    return errnoStatus(errno, "stat");
  }
  if (!S_ISDIR(st.st_mode)) {
    return failedPrecondition("not a directory");
  }
  return Status::ok();
}

class RealHostProbe final : public HostProbe {
 public:
  bool inUserNamespace() override {
    std::ifstream in("/proc/self/uid_map");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream words(all);
    std::string a, b, c, extra;
    words >> a >> b >> c;
    // The initial namespace maps every id onto itself in one line.
    return !(a == "0" && b == "0" && c == "4294967295" && !(words >> extra));
  }

  uid_t effectiveUid() override { return ::geteuid(); }

  Status ownedWritableDir(const fs::path& dir) override {
    fs::path p = dir;
    struct stat st {};
    while (::stat(p.c_str(), &st) != 0) {
      if (errno != ENOENT || p == p.root_path()) {
        return errnoStatus(errno, "stat \"" + p.string() + "\"");
      }
      p = p.parent_path();
    }
    if (p == dir) {
      NIXSNAP_RETURN_IF_ERROR(statDir(p, st));
      if (st.st_uid != ::geteuid()) {
        return failedPrecondition("owned by uid " + std::to_string(st.st_uid) +
                                  ", not by this user (uid " + std::to_string(::geteuid()) + ")");
      }
    }
    if (::access(p.c_str(), W_OK | X_OK) != 0) {
      return errnoStatus(errno, "\"" + p.string() + "\" is not writable");
    }
    return Status::ok();
  }

  Status readableDir(const fs::path& dir) override {
    struct stat st {};
    NIXSNAP_RETURN_IF_ERROR(statDir(dir, st));
    if (::access(dir.c_str(), R_OK | X_OK) != 0) {
      return errnoStatus(errno, "not readable");
    }
    return Status::ok();
  }

  Status connectableSocket(const fs::path& socket) override {
    struct stat st {};
    if (::stat(socket.c_str(), &st) != 0) {
      return errnoStatus(errno, "stat");
    }
    if (!S_ISSOCK(st.st_mode)) {
      return failedPrecondition("not a socket");
    }
    if (::access(socket.c_str(), W_OK) != 0) {
      return errnoStatus(errno, "cannot connect");
    }
    return Status::ok();
  }

  Status overlayWithUserxattr(const fs::path& scratch_parent) override {
    boost::system::error_code ec;
    fs::create_directories(scratch_parent, ec);
    std::string tmpl = (scratch_parent / ".overlay-probe-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return errnoStatus(errno, "mkdtemp in \"" + scratch_parent.string() + "\"");
    }
    const fs::path d(tmpl);
    for (const char* sub : {"lower", "upper", "work", "merged"}) {
      fs::create_directories(d / sub, ec);
    }
    const std::string opts = "lowerdir=" + (d / "lower").string() +
                             ",upperdir=" + (d / "upper").string() +
                             ",workdir=" + (d / "work").string() + ",userxattr";
    Status result = Status::ok();
    if (::mount("overlay", (d / "merged").c_str(), "overlay", 0, opts.c_str()) != 0) {
      result = errnoStatus(errno, "mount -t overlay -o userxattr");
    } else {
      ::umount2((d / "merged").c_str(), MNT_DETACH);
    }
    fs::remove_all(d, ec);
    return result;
  }

  Status fuseOverlayfsUsable() override {
    if (::access("/dev/fuse", R_OK | W_OK) != 0) {
      return errnoStatus(errno, "/dev/fuse");
    }
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (!dir.empty() && ::access((fs::path(dir) / "fuse-overlayfs").c_str(), X_OK) == 0) {
        return Status::ok();
      }
    }
    return failedPrecondition("fuse-overlayfs is not on PATH");
  }
};

}  // namespace

std::unique_ptr<HostProbe> makeHostProbe() { return std::make_unique<RealHostProbe>(); }

}  // namespace nixsnap::server
