#include "mocks/nix_mocks.h"

namespace nixsnap::testing {

MockNixStore::MockNixStore() = default;
MockNixStore::~MockNixStore() = default;

}  // namespace nixsnap::testing
