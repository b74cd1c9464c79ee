#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "image/progress.h"

namespace nixsnap::image {

/// Where and how an archive is loaded into containerd.
struct LoadOptions {
  std::string ns = "default";            ///< containerd namespace (k8s.io for the CRI)
  std::string snapshotter = "nix";       ///< snapshotter to unpack for
  std::vector<std::string> extra_names;  ///< further image names to point at the same target
  /// Also create/update the names the archive records (index.json annotations, docker
  /// RepoTags), as `docker load` does. The CRI path turns this off: an archive pulled as
  /// `nix:0/...` must not re-point any other name (another image, the pause image).
  bool archive_names = true;
  std::string store_dir = "/nix/store";  ///< store paths in layer annotations must be below it
  ProgressSinkPtr progress;  ///< optional: told of each blob and layer (nix2container load)
};

/// One image created or updated by a load.
struct LoadedImage {
  std::string name;             ///< containerd image name
  std::string manifest_digest;  ///< "sha256:<hex>" of the manifest (the image's target)
  std::string config_digest;    ///< "sha256:<hex>" of the config (CRI's image id)
};

/// Loads an OCI or docker archive into containerd and unpacks it (nix2container load).
class Loader {
 public:
  virtual ~Loader() = default;

  /// Imports `archive` (tar, plain/gzip/zstd; OCI layout or docker archive): writes blobs
  /// to content, creates/updates the image record(s), unpacks every layer for
  /// `options.snapshotter` passing the layer annotations as snapshot labels.
  /// An existing chain-ID snapshot is reused only when its labels carry the Nix labels
  /// (nix-closure, nix-layer, nix-store-path.<i>) its layer's annotations require; one
  /// without them (unpacked by an ordinary import, e.g. `ctr image import` on containerd
  /// 1.7) is removed with the snapshots above it in the chain and unpacked again.
  /// @return the images; InvalidArgument for a malformed archive (message names the
  ///         member); NotFound for a missing file; Unavailable when containerd is down;
  ///         FailedPrecondition when such a label-less snapshot cannot be removed because
  ///         other snapshots (containers, other images) build on it: the message names it
  ///         and says how to clear it; other classes from containerd unchanged. Nothing
  ///         half-imported stays visible.
  /// Thread-safe.
  virtual Result<std::vector<LoadedImage>> load(const fs::path& archive,
                                                const LoadOptions& options) = 0;
};
using LoaderPtr = std::shared_ptr<Loader>;

}  // namespace nixsnap::image
