#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "cri/image_remover.h"

namespace nixsnap::cri {

/// ImageRemover over containerd's images gRPC service on `channel`.
class ContainerdImageRemover : public ImageRemover {
 public:
  ContainerdImageRemover(std::shared_ptr<grpc::Channel> channel, std::string address);

  Status removeImage(const std::string& ns, const std::string& name) override;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string address_;
};

}  // namespace nixsnap::cri
