#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "cri/archive_source.h"
#include "cri/containerd_config_source.h"
#include "cri/cri_backend.h"
#include "cri/image_remover.h"
#include "cri/nix_image_ref.h"
#include "cri/runtime/v1/api.grpc.pb.h"
#include "cri/single_flight.h"
#include "image/loader.h"

namespace nixsnap::cri {

/// Settings of the image service.
struct ImageServiceOptions {
  std::string ns = "k8s.io";             ///< containerd namespace of containerd's CRI
  std::string snapshotter = "nix";       ///< snapshotter Nix images are unpacked with
  std::string store_dir = "/nix/store";  ///< store directory nix:0 references must name
  /// How long PullImage waits for containerd's CRI to list a freshly loaded image.
  std::chrono::milliseconds visible_timeout{15000};
  std::chrono::milliseconds visible_poll{50};  ///< pause between those checks
  /// Deadline of a forwarded call whose caller set none (PullImage excepted).
  std::chrono::milliseconds forward_timeout{120000};
  /// Deadline of the image service's own calls to containerd's CRI.
  std::chrono::milliseconds probe_timeout{5000};
  /// Where the start-up check reads containerd's effective config when CRI Status does not
  /// report disable_snapshot_annotations (containerd 2.x); null: that check is skipped.
  ContainerdConfigSourcePtr containerd_config;
};

/// Longest image reference PullImage, ImageStatus and RemoveImage accept (bytes).
inline constexpr size_t kMaxImageRefBytes = 4096;

/// The CRI ImageService kubelet talks to. It resolves `nix:0/<store path>` references
/// itself (realise the archive, load it into containerd's `k8s.io` namespace for
/// snapshotter `nix`, wait until containerd's CRI lists it) and forwards every other
/// request unchanged to containerd's CRI, because kubelet has no way to hand an image
/// from the Nix store to containerd.
/// Thread-safe; owned by the gRPC server that serves it.
class ImageService final : public runtime::v1::ImageService::Service {
 public:
  ImageService(CriBackendPtr backend, image::LoaderPtr loader, ArchiveSourcePtr archives,
               ImageRemoverPtr remover, ImageServiceOptions options = {});
  ~ImageService() override;

  ImageService(const ImageService&) = delete;
  ImageService& operator=(const ImageService&) = delete;

  /// Starts a background thread that queries containerd's CRI (retrying with backoff until
  /// it answers) and logs warnings about settings that break Nix images. Idempotent.
  void startBackendCheck();

  /// Pulls a Nix image: `ref` is "nix:0/nix/store/<hash>-<name>[:latest]".
  /// Concurrent calls for the same store path share one load.
  /// @return the image id (config digest "sha256:<hex>"); InvalidArgument for a malformed
  ///         reference, a path outside the store or a file that is no image archive;
  ///         NotFound when the archive cannot be realised; Unavailable (naming the
  ///         address) when containerd is down; DeadlineExceeded when containerd's CRI does
  ///         not list the loaded image in time (the load is then undone).
  Result<std::string> pullNixImage(const std::string& ref);

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
  Result<std::string> loadNixImage(const NixImageRef& ref);
  /// Image id containerd's CRI has for `ref`, "" when it has none.
  Result<std::string> criImageId(const std::string& ref);
  Status waitUntilVisible(const NixImageRef& ref, const std::string& id);
  void undoLoad(const std::vector<std::string>& names);
  grpc::Status annotate(const grpc::Status& status, const char* rpc) const;
  std::unique_ptr<grpc::ClientContext> forwardContext(grpc::ServerContext* ctx,
                                                      bool default_deadline) const;
  void backendCheckLoop();
  /// The start-up check's second source (containerd 2.x): containerd's effective config.
  void checkEffectiveConfig();

  CriBackendPtr backend_;
  image::LoaderPtr loader_;
  ArchiveSourcePtr archives_;
  ImageRemoverPtr remover_;
  ImageServiceOptions options_;
  SingleFlight<Result<std::string>> flights_;

  std::mutex check_mu_;
  std::condition_variable check_cv_;
  bool stopping_ = false;
  std::thread check_thread_;
};

}  // namespace nixsnap::cri
