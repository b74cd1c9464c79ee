#pragma once

#include <gmock/gmock.h>

#include <string>
#include <vector>

#include "image/cri_images.h"
#include "image/loader.h"
#include "image/nix_image_pull.h"

// Doubles of the image/ use cases' collaborators and of the nix:0 pull itself.
namespace nixsnap::image::testing {

class MockLoader : public Loader {
 public:
  MockLoader();
  ~MockLoader() override;
  MOCK_METHOD(Result<std::vector<LoadedImage>>, load,
              (const fs::path& archive, const LoadOptions& options), (override));
};

class MockCriImages : public CriImages {
 public:
  explicit MockCriImages(std::string address = "unix:///run/test-containerd.sock");
  ~MockCriImages() override;
  MOCK_METHOD(Result<std::string>, imageId, (const std::string& ref), (override));
  const std::string& address() const override { return address_; }

 private:
  std::string address_;
};

class MockNixImagePuller : public NixImagePuller {
 public:
  MockNixImagePuller();
  ~MockNixImagePuller() override;
  MOCK_METHOD(Result<std::string>, pull, (const std::string& ref), (override));
};

}  // namespace nixsnap::image::testing
