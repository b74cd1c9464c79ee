#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/fs.h"
#include "common/random.h"
#include "common/single_flight.h"
#include "common/sleeper.h"
#include "common/status.h"
#include "containerd/client.h"
#include "image/cri_images.h"
#include "image/loader.h"
#include "nix/image_ref.h"
#include "nix/store.h"

namespace nixsnap::image {

/// Settings of a nix:0 pull.
struct NixImagePullOptions {
  std::string ns = "k8s.io";             ///< containerd namespace of containerd's CRI
  std::string snapshotter = "nix";       ///< snapshotter Nix images are unpacked with
  std::string store_dir = "/nix/store";  ///< store directory nix:0 references must name
  /// Where each pull roots its archive while loading it (one `<random>` folder per pull,
  /// removed afterwards), e.g. `<daemon root>/pull-gcroots`. Must be absolute.
  fs::path gc_root_dir;
  /// How long a pull waits for containerd's CRI to list a freshly loaded image.
  std::chrono::milliseconds visible_timeout{15000};
  std::chrono::milliseconds visible_poll{50};  ///< pause between those checks
};

/// The collaborators of a NixImagePull; all required.
struct NixImagePullDeps {
  CriImagesPtr cri;                            ///< containerd's CRI, asked what it lists
  LoaderPtr loader;                            ///< loads the archive into containerd
  std::shared_ptr<nix::NixStore> store;        ///< realises and roots the archive
  containerd::ContainerdClientPtr containerd;  ///< undoes a load containerd's CRI refuses
  ClockPtr clock;
  SleeperPtr sleeper;
  RandomPtr random;  ///< names the per-pull GC-root folder
};

/// A `nix:0` pull as the CRI image service sees it; the seam its adapter tests mock.
class NixImagePuller {
 public:
  virtual ~NixImagePuller() = default;
  /// Pulls `ref`, "nix:0/nix/store/<hash>-<name>[:latest]".
  /// @return the image id (config digest "sha256:<hex>"); InvalidArgument for a malformed
  ///         reference, a path outside the store or a file that is no image archive;
  ///         NotFound when the archive cannot be realised; Unavailable (naming the
  ///         address) when containerd is down; DeadlineExceeded when containerd's CRI does
  ///         not list the loaded image in time (the load is then undone). Thread-safe.
  virtual Result<std::string> pull(const std::string& ref) = 0;
};
using NixImagePullerPtr = std::shared_ptr<NixImagePuller>;

/// The `nix:0` pull use case behind the CRI image service's PullImage: realise the
/// archive `nix:0/<store path>` names (rooted until it is loaded, so a concurrent
/// nix-collect-garbage cannot take it), load it into containerd's CRI namespace for
/// snapshotter `nix`, wait until containerd's CRI lists it, and undo the load when it
/// never does. Concurrent pulls of one store path share one run; pulls of different paths
/// run side by side (no lock spans a realisation or a load).
/// Thread-safe.
class NixImagePull final : public NixImagePuller {
 public:
  NixImagePull(NixImagePullDeps deps, NixImagePullOptions options);

  Result<std::string> pull(const std::string& ref) override;

  /// Takes away the GC roots pulls left behind when the daemon stopped mid-pull (every
  /// folder under options.gc_root_dir). Call once at start-up, before serving.
  void removeStaleRoots();

 private:
  Result<std::string> run(const nix::NixImageRef& ref);
  Result<std::string> loadRooted(const nix::NixImageRef& ref, const std::string& before);
  Status realise(const nix::NixImageRef& ref, const fs::path& roots);
  Result<std::vector<LoadedImage>> realiseAndLoad(const nix::NixImageRef& ref,
                                                  const fs::path& roots);
  Status waitUntilVisible(const nix::NixImageRef& ref, const std::string& id);
  void undoLoad(const nix::NixImageRef& ref, const std::optional<containerd::Image>& prior);

  NixImagePullDeps deps_;
  NixImagePullOptions options_;
  SingleFlight<Result<std::string>> flights_;
};
using NixImagePullPtr = std::shared_ptr<NixImagePull>;

}  // namespace nixsnap::image
