#pragma once

#include <string>
#include <vector>

namespace nixsnap::mount {

/// containerd's mount.Mount: what the caller must mount to use a snapshot. The one Mount
/// type of the project (snapshotter results, containerd client, mounter).
struct Mount {
  std::string type;    ///< "bind", "overlay", "fuse3.fuse-overlayfs"
  std::string source;  ///< absolute path, or "overlay" for overlay mounts
  std::string target;  ///< empty = the rootfs itself; else a path inside it (containerd >= 1.7)
  std::vector<std::string> options;
  bool operator==(const Mount&) const = default;
};

}  // namespace nixsnap::mount
