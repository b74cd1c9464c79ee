#pragma once

#include <grpcpp/impl/service_type.h>

#include <memory>
#include <vector>

#include "cmd/backend_check.h"
#include "config/config.h"

namespace nixsnap::cmd {

/// Composition root of the CRI image service (nix-snapshotter's part of it): builds the
/// nix:0 pull use case (image/) with its real collaborators (containerd client, loader,
/// nix-store, containerd's CRI) and the gRPC adapter (cri/) around it, served next to the
/// snapshots API when `[image_service] enable` is true, and the start-up check of
/// containerd's settings (started).
struct ImageServices {
  std::vector<std::unique_ptr<grpc::Service>> services;  ///< to register; empty when disabled
  std::unique_ptr<BackendCheck> check;  ///< runs until destroyed; null when disabled
};
ImageServices makeImageServices(const config::Config& config);

}  // namespace nixsnap::cmd
