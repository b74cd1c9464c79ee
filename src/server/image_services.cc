#include "server/image_services.h"

#include <memory>
#include <utility>

#include "common/log.h"
#include "common/process_runner.h"
#include "containerd/grpc_client.h"
#include "cri/containerd_image_remover.h"
#include "cri/cri_backend.h"
#include "cri/image_service.h"
#include "cri/nix_store_archive_source.h"
#include "cri/proc_containerd_config_source.h"
#include "image/containerd_loader.h"

namespace nixsnap::server {

std::vector<std::unique_ptr<grpc::Service>> makeImageServices(const config::Config& config) {
  std::vector<std::unique_ptr<grpc::Service>> services;
  if (!config.image_service.enable) {
    NIXSNAP_LOG(Info, "image service disabled by config");
    return services;
  }
  const std::string& address = config.image_service.containerd_address;
  // One lazily connecting channel to containerd's socket serves its CRI (forwarding) and
  // its images API (undoing a load); the loader keeps its own client.
  auto channel = cri::makeBackendChannel(address);
  auto loader = std::make_shared<image::ContainerdLoader>(containerd::makeGrpcContainerdClient(address));
  auto archives =
      std::make_shared<cri::NixStoreArchiveSource>(makePosixProcessRunner(), config.store_dir);
  auto remover = std::make_shared<cri::ContainerdImageRemover>(channel, cri::grpcTarget(address));
  cri::ImageServiceOptions options;
  options.store_dir = config.store_dir;
  options.containerd_config =
      cri::makeProcContainerdConfigSource(channel, makePosixProcessRunner());
  auto service = std::make_unique<cri::ImageService>(cri::makeGrpcCriBackend(channel, address),
                                                     std::move(loader), std::move(archives),
                                                     std::move(remover), options);
  service->startBackendCheck();
  NIXSNAP_LOG(Info, "image service enabled", {{"containerd_address", address}});
  services.push_back(std::move(service));
  return services;
}

}  // namespace nixsnap::server
