#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "cri/cri_backend.h"

namespace nixsnap::cri {

/// What the image service needs to know about containerd's CRI to warn early.
struct BackendFacts {
  std::string runtime_version;              ///< VersionResponse.runtime_version, e.g. "v1.7.24"
  std::map<std::string, std::string> info;  ///< verbose StatusResponse.info (JSON values)
};

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

/// Asks containerd's CRI for Version and Status(verbose) once (5 s deadline each).
/// @return the facts; Unavailable (naming the address) when containerd cannot be reached;
///         other gRPC classes as returned.
Result<BackendFacts> queryBackend(CriBackend& backend);

}  // namespace nixsnap::cri
