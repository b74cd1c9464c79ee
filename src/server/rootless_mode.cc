// Rootless mode: checks the paths an unprivileged daemon needs and picks the overlay
// flavour containerd can mount in the user's namespace.
#include "server/rootless_mode.h"

namespace nixsnap::server {

namespace {

Status refuse(const std::string& what, const fs::path& path, const Status& why,
              const std::string& hint) {
  return failedPrecondition("rootless: " + what + " \"" + path.string() +
                            "\" cannot be used: " + why.message() + hint);
}

}  // namespace

fs::path nixDaemonSocket(const std::string& nix_remote, const fs::path& nix_state_dir) {
  if (nix_remote.rfind("unix://", 0) == 0) {
    return nix_remote.substr(7);
  }
  if (nix_remote.empty() || nix_remote == "auto" || nix_remote == "daemon") {
    return nix_state_dir / "daemon-socket" / "socket";
  }
  return {};
}

Result<MountMode> chooseMountMode(HostProbe& probe, const config::Config& config,
                                  const fs::path& nix_state_dir, const std::string& nix_remote) {
  MountMode mode;
  mode.rootless = probe.inUserNamespace() || probe.effectiveUid() != 0;
  if (!mode.rootless) {
    mode.fuse_overlayfs = config.fuse_overlayfs;
    mode.reason = config.fuse_overlayfs ? "fuse_overlayfs = true in the config"
                                        : "kernel overlayfs (not rootless)";
    return mode;
  }
  const fs::path root(config.root);
  if (Status st = probe.ownedWritableDir(root); !st.isOk()) {
    return refuse("root", root, st,
                  " (a rootless daemon keeps its root in the user's own directories, "
                  "by default $XDG_DATA_HOME/containerd/io.containerd.snapshotter.v1.nix)");
  }
  if (Status st = probe.readableDir(config.store_dir); !st.isOk()) {
    return refuse("store", config.store_dir, st, "");
  }
  if (nix_remote == "local" || nix_remote.rfind("local?", 0) == 0) {
    return failedPrecondition("rootless: NIX_REMOTE=" + nix_remote +
                              " cannot be used: only the Nix daemon may write the store and "
                              "register GC roots for an unprivileged user (NIX_REMOTE=daemon)");
  }
  const fs::path socket = nixDaemonSocket(nix_remote, nix_state_dir);
  if (Status st = socket.empty() ? Status::ok() : probe.connectableSocket(socket); !st.isOk()) {
    return refuse("Nix daemon socket", socket, st,
                  " (GC roots are registered through the Nix daemon: start nix-daemon, and on "
                  "Debian add the user to the group nix-users)");
  }
  if (config.fuse_overlayfs) {
    if (Status st = probe.fuseOverlayfsUsable(); !st.isOk()) {
      return failedPrecondition("rootless: fuse_overlayfs = true but " + st.message());
    }
    mode.fuse_overlayfs = true;
    mode.reason = "fuse_overlayfs = true in the config";
    return mode;
  }
  Status overlay = probe.overlayWithUserxattr(root);
  if (overlay.isOk()) {
    mode.userxattr = true;
    mode.reason = "kernel overlayfs mounts with userxattr in this user namespace";
    return mode;
  }
  Status fuse = probe.fuseOverlayfsUsable();
  if (!fuse.isOk()) {
    return failedPrecondition(
        "rootless: no overlay flavour works: kernel overlayfs with "
        "userxattr: " +
        overlay.message() + "; fuse-overlayfs: " + fuse.message());
  }
  mode.fuse_overlayfs = true;
  mode.reason =
      "kernel overlayfs with userxattr failed (" + overlay.message() + "): using fuse-overlayfs";
  return mode;
}

}  // namespace nixsnap::server
