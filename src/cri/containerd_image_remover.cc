#include "cri/containerd_image_remover.h"

#include <chrono>
#include <utility>

#include <grpcpp/client_context.h>

#include "containerd/services/images/v1/images.grpc.pb.h"
#include "rpc/grpc_status.h"

namespace nixsnap::cri {

namespace images = containerd::services::images::v1;

ContainerdImageRemover::ContainerdImageRemover(std::shared_ptr<grpc::Channel> channel,
                                               std::string address)
    : channel_(std::move(channel)), address_(std::move(address)) {}

Status ContainerdImageRemover::removeImage(const std::string& ns, const std::string& name) {
  auto stub = images::Images::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.AddMetadata("containerd-namespace", ns);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  images::DeleteImageRequest req;
  req.set_name(name);
  google::protobuf::Empty resp;
  Status st = rpc::fromGrpc(stub->Delete(&ctx, req, &resp));
  if (st.code() == ErrorCode::NotFound) {
    return Status::ok();
  }
  if (!st.isOk()) {
    return st.wrap("deleting image \"" + name + "\" in containerd at " + address_);
  }
  return Status::ok();
}

}  // namespace nixsnap::cri
