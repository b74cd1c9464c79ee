#include "mocks/cri_mocks.h"

#include <utility>

namespace nixsnap::cri::testing {

MockCriBackend::MockCriBackend(std::string address) : address_(std::move(address)) {}
MockCriBackend::~MockCriBackend() = default;

}  // namespace nixsnap::cri::testing
