#include "cri/cri_images.h"

#include <grpcpp/client_context.h>

#include <utility>

#include "rpc/grpc_status.h"

namespace nixsnap::cri {

GrpcCriImages::GrpcCriImages(CriBackendPtr backend, ClockPtr clock,
                             std::chrono::milliseconds timeout)
    : backend_(std::move(backend)), clock_(std::move(clock)), timeout_(timeout) {}

Result<std::string> GrpcCriImages::imageId(const std::string& ref) {
  grpc::ClientContext ctx;
  ctx.set_deadline(clock_->now() + timeout_);
  runtime::v1::ImageStatusRequest req;
  req.mutable_image()->set_image(ref);
  runtime::v1::ImageStatusResponse resp;
  grpc::Status st = backend_->images().ImageStatus(&ctx, req, &resp);
  if (!st.ok()) {
    return rpc::fromGrpc(annotateUnavailable(st, "ImageStatus", backend_->address()));
  }
  return resp.has_image() ? resp.image().id() : std::string();
}

}  // namespace nixsnap::cri
