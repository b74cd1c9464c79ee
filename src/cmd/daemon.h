#pragma once

#include "common/status.h"
#include "config/config.h"

namespace nixsnap::cmd {

/// Where Nix keeps its state (gcroots/, the database): the indirect roots of the
/// snapshotter and of the image service's pulls are registered below it.
inline constexpr const char* kNixStateDir = "/nix/var/nix";

/// Runs the nix-snapshotter daemon with a merged, validated config: opens the snapshotter
/// under `config.root`, serves containerd's snapshots API (and the image service hook) on
/// `config.address`, and returns after SIGINT/SIGTERM once in-flight calls finished.
/// Termination signals must already be blocked (blockTerminationSignals()).
/// @return Ok after a clean stop; the error that prevented startup otherwise.
Status runDaemon(const config::Config& config);

}  // namespace nixsnap::cmd
