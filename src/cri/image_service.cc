#include "cri/image_service.h"

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <utility>

#include "common/log.h"
#include "nix/image_ref.h"
#include "rpc/grpc_status.h"

namespace nixsnap::cri {
namespace {

namespace v1 = runtime::v1;
using nix::isNixImageRef;

bool hasInfiniteDeadline(const grpc::ServerContext& ctx) {
  return ctx.deadline() >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24);
}

}  // namespace

ImageService::ImageService(CriBackendPtr backend, image::NixImagePullerPtr nix_pull,
                           ImageServiceOptions options)
    : backend_(std::move(backend)), nix_pull_(std::move(nix_pull)), options_(std::move(options)) {
  if (options_.clock == nullptr) {
    options_.clock = makeSystemClock();
  }
}

// ------------------------------------------------------------------ forwarding

std::unique_ptr<grpc::ClientContext> ImageService::forwardContext(grpc::ServerContext* ctx,
                                                                  bool default_deadline) const {
  auto client = grpc::ClientContext::FromServerContext(*ctx);
  if (default_deadline && hasInfiniteDeadline(*ctx)) {
    client->set_deadline(options_.clock->now() + options_.forward_timeout);
  }
  return client;
}

grpc::Status ImageService::annotate(const grpc::Status& status, const char* rpc) const {
  return annotateUnavailable(status, rpc, backend_->address());
}

grpc::Status ImageService::ListImages(grpc::ServerContext* ctx, const v1::ListImagesRequest* req,
                                      v1::ListImagesResponse* resp) {
  auto client = forwardContext(ctx, true);
  return annotate(backend_->images().ListImages(client.get(), *req, resp), "ListImages");
}

namespace {

/// Image references are at most a few hundred bytes (a 255-byte name, a 128-byte tag, a
/// digest); a megabyte one only makes containerd reset the stream. Refused before
/// forwarding, naming the size rather than echoing the reference.
grpc::Status checkRefSize(const std::string& ref, const char* rpc) {
  if (ref.size() <= kMaxImageRefBytes) {
    return grpc::Status::OK;
  }
  return {grpc::StatusCode::INVALID_ARGUMENT,
          std::string(rpc) + ": image reference of " + std::to_string(ref.size()) +
              " bytes, more than the " + std::to_string(kMaxImageRefBytes) + " allowed"};
}

}  // namespace

grpc::Status ImageService::ImageStatus(grpc::ServerContext* ctx, const v1::ImageStatusRequest* req,
                                       v1::ImageStatusResponse* resp) {
  if (grpc::Status big = checkRefSize(req->image().image(), "ImageStatus"); !big.ok()) {
    return big;
  }
  auto client = forwardContext(ctx, true);
  return annotate(backend_->images().ImageStatus(client.get(), *req, resp), "ImageStatus");
}

grpc::Status ImageService::RemoveImage(grpc::ServerContext* ctx, const v1::RemoveImageRequest* req,
                                       v1::RemoveImageResponse* resp) {
  if (grpc::Status big = checkRefSize(req->image().image(), "RemoveImage"); !big.ok()) {
    return big;
  }
  auto client = forwardContext(ctx, true);
  return annotate(backend_->images().RemoveImage(client.get(), *req, resp), "RemoveImage");
}

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext* ctx, const v1::ImageFsInfoRequest* req,
                                       v1::ImageFsInfoResponse* resp) {
  auto client = forwardContext(ctx, true);
  return annotate(backend_->images().ImageFsInfo(client.get(), *req, resp), "ImageFsInfo");
}

grpc::Status ImageService::PullImage(grpc::ServerContext* ctx, const v1::PullImageRequest* req,
                                     v1::PullImageResponse* resp) {
  const std::string& ref = req->image().image();
  if (grpc::Status big = checkRefSize(ref, "PullImage"); !big.ok()) {
    return big;
  }
  if (!isNixImageRef(ref)) {
    // Registry pulls take as long as they take: only the caller's deadline applies.
    auto client = forwardContext(ctx, false);
    return annotate(backend_->images().PullImage(client.get(), *req, resp), "PullImage");
  }
  auto id = nix_pull_->pull(ref);
  if (!id.isOk()) {
    NIXSNAP_LOG(Warn, "nix image pull failed", {{"image", ref}, {"error", id.status().message()}});
    return rpc::toGrpc(id.status());
  }
  resp->set_image_ref(*id);
  return grpc::Status::OK;
}

}  // namespace nixsnap::cri
