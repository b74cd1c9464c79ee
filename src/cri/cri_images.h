#pragma once

#include <chrono>

#include "common/clock.h"
#include "cri/cri_backend.h"
#include "image/cri_images.h"

namespace nixsnap::cri {

/// image::CriImages over containerd's CRI ImageService (ImageStatus), each call with its
/// own deadline.
class GrpcCriImages final : public image::CriImages {
 public:
  GrpcCriImages(CriBackendPtr backend, ClockPtr clock,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  Result<std::string> imageId(const std::string& ref) override;
  const std::string& address() const override { return backend_->address(); }

 private:
  CriBackendPtr backend_;
  ClockPtr clock_;
  std::chrono::milliseconds timeout_;
};

}  // namespace nixsnap::cri
