#include "mocks/cri_mocks.h"

#include <utility>

namespace nixsnap::cri::testing {

MockArchiveSource::MockArchiveSource() = default;
MockArchiveSource::~MockArchiveSource() = default;
MockLoader::MockLoader() = default;
MockLoader::~MockLoader() = default;
MockImageRemover::MockImageRemover() = default;
MockImageRemover::~MockImageRemover() = default;
MockCriBackend::MockCriBackend(std::string address) : address_(std::move(address)) {}
MockCriBackend::~MockCriBackend() = default;

}  // namespace nixsnap::cri::testing
