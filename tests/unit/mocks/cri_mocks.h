#pragma once

#include <gmock/gmock.h>

#include <memory>
#include <string>
#include <vector>

#include "cri/cri_backend.h"
#include "cri/runtime/v1/api_mock.grpc.pb.h"
#include "mocks/common_mocks.h"
#include "mocks/image_mocks.h"

// Doubles of the image service's collaborators. They live in nixsnap::cri::testing so
// they never collide with other folders' doubles of the same interfaces.
namespace nixsnap::cri::testing {

// The process runner double is shared with the nix/ tests.
using ::nixsnap::image::testing::MockNixImagePuller;
using ::nixsnap::testing::MockProcessRunner;

/// A CriBackend whose stubs are generated GoogleMock stubs (StrictMock).
class MockCriBackend : public CriBackend {
 public:
  explicit MockCriBackend(std::string address = "unix:///run/test-containerd.sock");
  ~MockCriBackend() override;

  runtime::v1::ImageService::StubInterface& images() override { return images_stub; }
  runtime::v1::RuntimeService::StubInterface& runtime() override { return runtime_stub; }
  const std::string& address() const override { return address_; }

  ::testing::StrictMock<runtime::v1::MockImageServiceStub> images_stub;
  ::testing::StrictMock<runtime::v1::MockRuntimeServiceStub> runtime_stub;

 private:
  std::string address_;
};

}  // namespace nixsnap::cri::testing
