#include "cmd/daemon.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cmd/image_services.h"
#include "common/log.h"
#include "common/random.h"
#include "server/notifier.h"
#include "server/root_lock.h"
#include "server/rootless_mode.h"
#include "server/serve.h"
#include "server/signals.h"
#include "snapshotter/factory.h"
#include "snapshotter/snapshots_service.h"

namespace nixsnap::cmd {

namespace {

std::string nixRemoteEnv() {
  const char* v = std::getenv("NIX_REMOTE");  // how Nix's own clients pick the store
  return v ? v : "";
}

}  // namespace

Status runDaemon(const config::Config& config) {
  // Rootless: refuse unusable paths (naming them) before touching the root.
  std::unique_ptr<server::HostProbe> probe = server::makeHostProbe();
  Result<server::MountMode> mode =
      server::chooseMountMode(*probe, config, kNixStateDir, nixRemoteEnv());
  if (!mode.isOk()) {
    return mode.status();
  }
  NIXSNAP_LOG(Info, "mount type chosen",
              {{"rootless", mode->rootless ? "true" : "false"},
               {"type", mode->fuse_overlayfs ? "fuse3.fuse-overlayfs"
                                             : (mode->userxattr ? "overlay,userxattr" : "overlay")},
               {"reason", mode->reason}});
  // Held until return: a second daemon on the same root (any socket) is refused.
  Result<UniqueFd> root_lock = server::lockRoot(config.root);
  if (!root_lock.isOk()) {
    return root_lock.status();
  }
  snapshotter::Options options;
  options.root = config.root;
  options.store_dir = config.store_dir;
  options.external_builder = config.external_builder;
  options.nix_state_dir = kNixStateDir;
  options.fuse_overlayfs = mode->fuse_overlayfs;
  options.overlay_userxattr = mode->userxattr;
  options.max_parallel_realisations = static_cast<size_t>(config.max_parallel_realisations);
  auto snap = snapshotter::makeSnapshotter(options);
  if (!snap.isOk()) {
    return snap.status().wrap("opening snapshotter root " + config.root);
  }
  NIXSNAP_LOG(Info, "snapshotter opened", {{"root", config.root}, {"store_dir", config.store_dir}});

  snapshotter::SnapshotsService snapshots(**snap);
  ImageServices image_services = makeImageServices(config);
  std::vector<grpc::Service*> services{&snapshots};
  for (auto& s : image_services.services) {
    services.push_back(s.get());
  }
  server::NotifierPtr notifier = server::makeSdNotifier();
  RandomPtr random = makeSystemRandom();
  return server::serve(config.address, services, *notifier, *random,
                       server::waitForTerminationSignal);
}

}  // namespace nixsnap::cmd
