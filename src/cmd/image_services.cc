#include "cmd/image_services.h"

#include <memory>
#include <utility>

#include "cmd/daemon.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/process_runner.h"
#include "common/random.h"
#include "common/sleeper.h"
#include "containerd/grpc_client.h"
#include "containerd/proc_config_source.h"
#include "cri/cri_backend.h"
#include "cri/cri_images.h"
#include "cri/image_service.h"
#include "image/containerd_loader.h"
#include "image/nix_image_pull.h"
#include "nix/nix_store_cli.h"

namespace nixsnap::cmd {

ImageServices makeImageServices(const config::Config& config) {
  ImageServices out;
  if (!config.image_service.enable) {
    NIXSNAP_LOG(Info, "image service disabled by config");
    return out;
  }
  const std::string& address = config.image_service.containerd_address;
  // One lazily connecting channel to containerd's socket serves its CRI (forwarding and
  // the pull's visibility checks); every containerd API call goes through one client.
  auto channel = cri::makeBackendChannel(address);
  auto backend = cri::makeGrpcCriBackend(channel, address);
  containerd::ContainerdClientPtr containerd = containerd::makeGrpcContainerdClient(address);
  ClockPtr clock = makeSystemClock();
  ProcessRunnerPtr runner = makePosixProcessRunner();
  image::NixImagePullOptions pull_options;
  pull_options.store_dir = config.store_dir;
  pull_options.gc_root_dir = fs::path(config.root) / "pull-gcroots";
  SleeperPtr sleeper = makeThreadSleeper();
  image::NixImagePullDeps deps{std::make_shared<cri::GrpcCriImages>(backend, clock),
                               std::make_shared<image::ContainerdLoader>(containerd),
                               std::make_shared<nix::NixStoreCli>(runner, kNixStateDir),
                               containerd,
                               clock,
                               sleeper,
                               makeSystemRandom()};
  auto pull = std::make_shared<image::NixImagePull>(std::move(deps), pull_options);
  pull->removeStaleRoots();
  cri::ImageServiceOptions options;
  options.clock = clock;
  out.services.push_back(std::make_unique<cri::ImageService>(backend, std::move(pull), options));
  // The start-up check's introspection call gets a short deadline of its own.
  out.check = std::make_unique<BackendCheck>(BackendCheckDeps{
      backend,
      containerd::makeProcContainerdConfigSource(
          containerd::makeGrpcContainerdClient(address, std::chrono::seconds(10)), runner),
      clock, sleeper});
  out.check->start();
  NIXSNAP_LOG(Info, "image service enabled", {{"containerd_address", address}});
  return out;
}

}  // namespace nixsnap::cmd
