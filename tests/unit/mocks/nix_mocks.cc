#include "mocks/nix_mocks.h"

namespace nixsnap::testing {

MockNixStore::MockNixStore() = default;
MockNixStore::~MockNixStore() = default;
MockRootRegistrar::MockRootRegistrar() = default;
MockRootRegistrar::~MockRootRegistrar() = default;

}  // namespace nixsnap::testing
