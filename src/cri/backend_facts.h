#pragma once

#include <map>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "cri/cri_backend.h"

namespace nixsnap::cri {

/// What containerd's CRI says about itself: what the daemon's start-up check reads.
struct BackendFacts {
  std::string runtime_version;              ///< VersionResponse.runtime_version, e.g. "v1.7.24"
  std::map<std::string, std::string> info;  ///< verbose StatusResponse.info (JSON values)
};

/// Asks containerd's CRI for Version and Status(verbose) once (5 s deadline each, counted
/// from `clock`).
/// @return the facts; Unavailable (naming the address) when containerd cannot be reached;
///         other gRPC classes as returned.
Result<BackendFacts> queryBackend(CriBackend& backend, const Clock& clock);

}  // namespace nixsnap::cri
