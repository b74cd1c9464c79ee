#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace nixsnap::image {

/// What a nix:0 pull needs to know of containerd's CRI: which image id it resolves a
/// name (or an id) to. Declared here, by its consumer (NixImagePull); cri/ implements it
/// over containerd's CRI ImageService, so this folder stays free of CRI protos.
class CriImages {
 public:
  virtual ~CriImages() = default;

  /// The image id ("sha256:<hex>") containerd's CRI reports for `ref`, "" when it knows
  /// no such image (CRI ImageStatus).
  /// @return Unavailable naming the address when containerd's CRI cannot be reached;
  ///         containerd's other answers with their class. Thread-safe.
  virtual Result<std::string> imageId(const std::string& ref) = 0;

  /// The address calls go to, for messages: "unix:///run/containerd/containerd.sock".
  virtual const std::string& address() const = 0;
};
using CriImagesPtr = std::shared_ptr<CriImages>;

}  // namespace nixsnap::image
