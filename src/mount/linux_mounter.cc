#include "mount/linux_mounter.h"

#include <sys/mount.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace nixsnap::mount {

namespace {

struct Parsed {
  unsigned long flags = 0;
  std::string data;
};

Parsed parseOptions(const std::vector<std::string>& options) {
  Parsed p;
  for (const std::string& o : options) {
    if (o == "ro") {
      p.flags |= MS_RDONLY;
    } else if (o == "rw") {
      p.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    } else if (o == "bind") {
      p.flags |= MS_BIND;
    } else if (o == "rbind") {
      p.flags |= MS_BIND | MS_REC;
    } else if (o == "nosuid") {
      p.flags |= MS_NOSUID;
    } else if (o == "nodev") {
      p.flags |= MS_NODEV;
    } else if (o == "noexec") {
      p.flags |= MS_NOEXEC;
    } else {
      p.data += (p.data.empty() ? "" : ",") + o;
    }
  }
  return p;
}

class LinuxMounter final : public Mounter {
 public:
  Status mount(const Mount& m, const fs::path& target) override {
    Parsed p = parseOptions(m.options);
    bool bind = m.type == "bind" || (p.flags & MS_BIND) != 0;
    if (bind) {
      p.flags |= MS_BIND;
    }
    unsigned long first = bind ? (p.flags & ~static_cast<unsigned long>(MS_RDONLY)) : p.flags;
    const char* data = p.data.empty() ? nullptr : p.data.c_str();
    if (::mount(m.source.c_str(), target.c_str(), bind ? nullptr : m.type.c_str(), first, data) !=
        0) {
      return errnoStatus(errno, "mounting \"" + m.source + "\" on \"" + target.string() + "\"");
    }
    if (bind && (p.flags & MS_RDONLY) != 0) {
      unsigned long re =
          MS_REMOUNT | MS_BIND | MS_RDONLY | (p.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
      if (::mount(nullptr, target.c_str(), nullptr, re, nullptr) != 0) {
        int err = errno;
        ::umount2(target.c_str(), MNT_DETACH);
        return errnoStatus(err, "remounting \"" + target.string() + "\" read-only");
      }
    }
    return Status::ok();
  }

  Status unmount(const fs::path& target) override {
    if (::umount2(target.c_str(), 0) != 0) {
      return errnoStatus(errno, "unmounting \"" + target.string() + "\"");
    }
    return Status::ok();
  }

  bool supportsOverlay() override {
    std::ifstream in("/proc/filesystems");
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() >= 7 && line.compare(line.size() - 7, 7, "overlay") == 0) {
        return true;
      }
    }
    return false;
  }
};

}  // namespace

MounterPtr makeLinuxMounter() { return std::make_unique<LinuxMounter>(); }

}  // namespace nixsnap::mount
