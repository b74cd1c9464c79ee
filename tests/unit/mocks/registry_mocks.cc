#include "mocks/registry_mocks.h"

namespace nixsnap::testing {

MockHttpTransport::MockHttpTransport() = default;
MockHttpTransport::~MockHttpTransport() = default;
MockCredentialSource::MockCredentialSource() = default;
MockCredentialSource::~MockCredentialSource() = default;
MockRegistryClient::MockRegistryClient() = default;
MockRegistryClient::~MockRegistryClient() = default;

}  // namespace nixsnap::testing
