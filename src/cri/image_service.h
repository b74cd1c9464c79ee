#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "cri/cri_backend.h"
#include "cri/runtime/v1/api.grpc.pb.h"
#include "image/nix_image_pull.h"

namespace nixsnap::cri {

/// Settings of the image service.
struct ImageServiceOptions {
  /// Deadline of a forwarded call whose caller set none (PullImage excepted).
  std::chrono::milliseconds forward_timeout{120000};
  /// Wall clock the deadlines of forwarded calls count from; null: the system clock.
  ClockPtr clock;
};

/// Longest image reference PullImage, ImageStatus and RemoveImage accept (bytes).
inline constexpr size_t kMaxImageRefBytes = 4096;

/// The CRI ImageService kubelet talks to: a gRPC adapter. It hands `nix:0/<store path>`
/// pulls to the image/ use case (image::NixImagePull: realise the archive, load it into
/// containerd's `k8s.io` namespace, wait until containerd's CRI lists it) and forwards
/// every other request unchanged to containerd's CRI, because kubelet has no way to hand
/// an image from the Nix store to containerd.
/// Thread-safe; owned by the gRPC server that serves it.
class ImageService final : public runtime::v1::ImageService::Service {
 public:
  ImageService(CriBackendPtr backend, image::NixImagePullerPtr nix_pull,
               ImageServiceOptions options = {});

  ImageService(const ImageService&) = delete;
  ImageService& operator=(const ImageService&) = delete;

  grpc::Status ListImages(grpc::ServerContext* ctx, const runtime::v1::ListImagesRequest* req,
                          runtime::v1::ListImagesResponse* resp) override;
  grpc::Status ImageStatus(grpc::ServerContext* ctx, const runtime::v1::ImageStatusRequest* req,
                           runtime::v1::ImageStatusResponse* resp) override;
  grpc::Status PullImage(grpc::ServerContext* ctx, const runtime::v1::PullImageRequest* req,
                         runtime::v1::PullImageResponse* resp) override;
  grpc::Status RemoveImage(grpc::ServerContext* ctx, const runtime::v1::RemoveImageRequest* req,
                           runtime::v1::RemoveImageResponse* resp) override;
  grpc::Status ImageFsInfo(grpc::ServerContext* ctx, const runtime::v1::ImageFsInfoRequest* req,
                           runtime::v1::ImageFsInfoResponse* resp) override;

 private:
  grpc::Status annotate(const grpc::Status& status, const char* rpc) const;
  std::unique_ptr<grpc::ClientContext> forwardContext(grpc::ServerContext* ctx,
                                                      bool default_deadline) const;

  CriBackendPtr backend_;
  image::NixImagePullerPtr nix_pull_;
  ImageServiceOptions options_;
};

}  // namespace nixsnap::cri
