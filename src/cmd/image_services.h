#pragma once

#include <grpcpp/impl/service_type.h>

#include <memory>
#include <vector>

#include "config/config.h"

namespace nixsnap::cmd {

/// Composition root of the CRI image service (nix-snapshotter's part of it): builds the
/// nix:0 pull use case (image/) with its real collaborators (containerd client, loader,
/// nix-store, containerd's CRI) and the gRPC adapter (cri/) around it, served next to the
/// snapshots API when `[image_service] enable` is true.
/// @return services to register (owned by the caller); empty when disabled.
std::vector<std::unique_ptr<grpc::Service>> makeImageServices(const config::Config& config);

}  // namespace nixsnap::cmd
