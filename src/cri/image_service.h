#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "cri/containerd_config_source.h"
#include "cri/cri_backend.h"
#include "cri/runtime/v1/api.grpc.pb.h"
#include "image/nix_image_pull.h"

namespace nixsnap::cri {

/// Settings of the image service.
struct ImageServiceOptions {
  std::string snapshotter = "nix";  ///< snapshotter the start-up check expects containerd to use
  /// Deadline of a forwarded call whose caller set none (PullImage excepted).
  std::chrono::milliseconds forward_timeout{120000};
  /// Deadline of the image service's own calls to containerd's CRI.
  std::chrono::milliseconds probe_timeout{5000};
  /// Where the start-up check reads containerd's effective config when CRI Status does not
  /// report disable_snapshot_annotations (containerd 2.x); null: that check is skipped.
  ContainerdConfigSourcePtr containerd_config;
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
  ~ImageService() override;

  ImageService(const ImageService&) = delete;
  ImageService& operator=(const ImageService&) = delete;

  /// Starts a background thread that queries containerd's CRI (retrying with backoff until
  /// it answers) and logs warnings about settings that break Nix images. Idempotent.
  void startBackendCheck();

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
  void backendCheckLoop();
  /// The start-up check's second source (containerd 2.x): containerd's effective config.
  void checkEffectiveConfig();

  CriBackendPtr backend_;
  image::NixImagePullerPtr nix_pull_;
  ImageServiceOptions options_;

  std::mutex check_mu_;
  std::condition_variable check_cv_;
  bool stopping_ = false;
  std::thread check_thread_;
};

}  // namespace nixsnap::cri
