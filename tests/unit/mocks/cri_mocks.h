#pragma once

#include <gmock/gmock.h>

#include <memory>
#include <string>
#include <vector>

#include "mocks/common_mocks.h"
#include "cri/archive_source.h"
#include "cri/cri_backend.h"
#include "cri/image_remover.h"
#include "cri/runtime/v1/api_mock.grpc.pb.h"
#include "image/loader.h"

// Doubles of the image service's collaborators. They live in nixsnap::cri::testing so
// they never collide with other folders' doubles of the same interfaces.
namespace nixsnap::cri::testing {

// The process runner double is shared with the nix/ tests.
using ::nixsnap::testing::MockProcessRunner;

class MockArchiveSource : public ArchiveSource {
 public:
  MockArchiveSource();
  ~MockArchiveSource() override;
  MOCK_METHOD(Status, ensureValid, (const fs::path& store_path), (override));
};

class MockLoader : public image::Loader {
 public:
  MockLoader();
  ~MockLoader() override;
  MOCK_METHOD(Result<std::vector<image::LoadedImage>>, load,
              (const fs::path& archive, const image::LoadOptions& options), (override));
};

class MockImageRemover : public ImageRemover {
 public:
  MockImageRemover();
  ~MockImageRemover() override;
  MOCK_METHOD(Status, removeImage, (const std::string& ns, const std::string& name), (override));
};

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
