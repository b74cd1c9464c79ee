#pragma once

#include <memory>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::cri {

/// Makes a Nix image archive present in the local store. Declared here, by its consumer,
/// so the image service depends on nothing of Nix but this one operation.
class ArchiveSource {
 public:
  virtual ~ArchiveSource() = default;

  /// Ensures `store_path` is a valid path of the local store, substituting it from the
  /// configured binary caches (or building it) when it is missing, like
  /// `nix-store --realise P`. No GC root is made: the archive is only read once.
  /// @param store_path "/nix/store/<hash>-<name>", already checked by parseNixImageRef.
  /// @return Ok; NotFound when it cannot be realised (no substituter has it);
  ///         Unavailable when nix-store cannot be run; Internal for other failures.
  /// Thread-safe. Source: Nix `nix-store --realise`.
  virtual Status ensureValid(const fs::path& store_path) = 0;
};
using ArchiveSourcePtr = std::shared_ptr<ArchiveSource>;

}  // namespace nixsnap::cri
