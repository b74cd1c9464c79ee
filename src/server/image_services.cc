#include "server/image_services.h"

#include "common/log.h"

namespace nixsnap::server {

std::vector<std::unique_ptr<grpc::Service>> makeImageServices(const config::Config& config) {
  std::vector<std::unique_ptr<grpc::Service>> services;
  if (!config.image_service.enable) {
    NIXSNAP_LOG(Info, "image service disabled by config");
    return services;
  }
  // The CRI ImageService (src/cri) is registered here once it exists.
  NIXSNAP_LOG(Warn, "image service enabled in config but not available in this build",
              {{"containerd_address", config.image_service.containerd_address}});
  return services;
}

}  // namespace nixsnap::server
