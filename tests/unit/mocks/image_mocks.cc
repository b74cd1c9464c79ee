#include "mocks/image_mocks.h"

#include <utility>

namespace nixsnap::image::testing {

MockLoader::MockLoader() = default;
MockLoader::~MockLoader() = default;
MockCriImages::MockCriImages(std::string address) : address_(std::move(address)) {}
MockCriImages::~MockCriImages() = default;
MockNixImagePuller::MockNixImagePuller() = default;
MockNixImagePuller::~MockNixImagePuller() = default;

}  // namespace nixsnap::image::testing
