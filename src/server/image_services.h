#pragma once

#include <grpcpp/impl/service_type.h>

#include <memory>
#include <vector>

#include "config/config.h"

namespace nixsnap::server {

/// The CRI image service(s) served next to the snapshots API when
/// `[image_service] enable` is true. Hook for the CRI component: it returns the services
/// to register (owned by the caller); an empty list means none is available.
/// @return services to register; empty when disabled or not built.
std::vector<std::unique_ptr<grpc::Service>> makeImageServices(const config::Config& config);

}  // namespace nixsnap::server
