#pragma once

#include <memory>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::nix {

/// Registers GC root symlinks with Nix as indirect roots, so that Nix's garbage collector
/// follows them. The seam between our roots and Nix's own registry (gcroots/auto), which
/// only Nix writes: as root through the local store, as an unprivileged user through the
/// Nix daemon (which runs as root). Nix has no operation to unregister: deleting the
/// symlink ends the root, and the collector drops the stale registration itself.
class RootRegistrar {
 public:
  virtual ~RootRegistrar() = default;

  /// Registers every symlink in `roots` (each already pointing into the store; its target
  /// need not be valid yet) as an indirect root, like `nix-store --add-root` does.
  /// @param roots absolute symlink paths, e.g. "<root>/gcroots/<id>/<hash>-<name>".
  /// @return Ok when Nix registered all; Unavailable when Nix cannot be reached or run;
  ///         PermissionDenied when Nix refused for lack of rights; Internal otherwise,
  ///         naming the root and with Nix's error text. Some may be registered on failure
  ///         (harmless: the caller removes the symlinks, the registrations go stale).
  /// Thread-safe.
  virtual Status registerRoots(const std::vector<fs::path>& roots) = 0;
};
using RootRegistrarPtr = std::shared_ptr<RootRegistrar>;

}  // namespace nixsnap::nix
