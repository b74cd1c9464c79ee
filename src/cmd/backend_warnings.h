#pragma once

// What the start-up check (backend_check.h) concludes from containerd's CRI facts and
// effective config: warnings about settings that break Nix images. Pure functions.

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "cri/backend_facts.h"

namespace nixsnap::cmd {

using cri::BackendFacts;

/// Problems in containerd's setup that make Nix images fail later, as human-readable
/// warnings: snapshot annotations disabled (Nix layers would unpack as plain tars and
/// containers would see empty store mountpoints), containerd older than 1.7 (no
/// Mount.target, so store-path bind mounts cannot work), a CRI snapshotter other than
/// "nix".
/// @param facts     what Version and Status(verbose) returned.
/// @param snapshotter the snapshotter Nix images are unpacked with ("nix").
/// @return zero or more warnings. Pure; thread-safe.
std::vector<std::string> backendWarnings(const BackendFacts& facts, const std::string& snapshotter);

/// True when containerd's CRI reports its disable_snapshot_annotations setting at all.
/// containerd 1.7 does (Status info "config"); 2.x keeps its image config out of Status,
/// so the setting cannot be checked there. Pure; thread-safe.
bool reportsSnapshotAnnotations(const BackendFacts& facts);

/// The warning logged when containerd's CRI passes no layer annotations to snapshotters
/// (`disable_snapshot_annotations = true`). One text for every way it is detected.
std::string annotationsDisabledWarning();

/// What containerd's effective config says about CRI image pulls.
struct CriImageConfig {
  /// disable_snapshot_annotations; nullopt when the config has no CRI image section.
  std::optional<bool> disable_snapshot_annotations;
  std::string snapshotter;  ///< the CRI's snapshotter; "" when absent
};

/// Reads the CRI image settings out of `containerd config dump` output.
/// @param toml version 3 (containerd 2.x: table plugins."io.containerd.cri.v1.images")
///             or version 2 (1.7: plugins."io.containerd.grpc.v1.cri".containerd).
/// @return the settings (fields empty when absent); InvalidArgument when `toml` does not
///         parse. Pure; thread-safe.
Result<CriImageConfig> criImageConfigFromToml(const std::string& toml);

/// Warnings about `config` as backendWarnings gives them: annotations disabled, a
/// snapshotter other than `snapshotter`. Pure; thread-safe.
std::vector<std::string> configWarnings(const CriImageConfig& config,
                                        const std::string& snapshotter);

}  // namespace nixsnap::cmd
