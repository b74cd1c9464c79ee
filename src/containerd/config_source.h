#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace nixsnap::containerd {

/// The effective configuration of the running containerd (the daemon's start-up check reads
/// its CRI image settings).
/// It exists because containerd 2.x answers CRI Status(verbose) with its runtime config
/// only: the image config (`disable_snapshot_annotations`, `snapshotter`, in plugin
/// "io.containerd.cri.v1.images") is exposed by no API (not by Status, not by the
/// introspection service's Plugins or PluginInfo), so the start-up check has to read it
/// from the configuration containerd was started with.
class ContainerdConfigSource {
 public:
  virtual ~ContainerdConfigSource() = default;

  /// containerd's effective configuration, as `containerd config dump` prints it: TOML,
  /// defaults filled in, imports merged, older config versions migrated (containerd 2.x
  /// prints version 3, 1.7 prints version 2).
  /// @return the TOML text; FailedPrecondition when the running containerd cannot be
  ///         inspected from here (another pid namespace, a process or binary not owned by
  ///         this user); Unavailable when containerd cannot be reached; NotFound when its
  ///         process is gone; Internal when `config dump` fails. Thread-safe.
  virtual Result<std::string> effectiveConfig() = 0;
};
using ContainerdConfigSourcePtr = std::shared_ptr<ContainerdConfigSource>;

}  // namespace nixsnap::containerd
