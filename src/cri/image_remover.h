#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace nixsnap::cri {

/// Deletes containerd image records; used to undo a Nix image load that containerd's CRI
/// never accepted, so a failed PullImage leaves nothing behind.
class ImageRemover {
 public:
  virtual ~ImageRemover() = default;

  /// Deletes image `name` in containerd namespace `ns` (images service Delete).
  /// @param ns   containerd namespace, e.g. "k8s.io".
  /// @param name full image name, e.g. "nix:0/nix/store/<hash>-<name>:latest".
  /// @return Ok (also when it was already absent); Unavailable when containerd is down;
  ///         other classes from containerd unchanged. Thread-safe.
  virtual Status removeImage(const std::string& ns, const std::string& name) = 0;
};
using ImageRemoverPtr = std::shared_ptr<ImageRemover>;

}  // namespace nixsnap::cri
