#include "mocks/mount_mocks.h"

namespace nixsnap::testing {

MockMounter::MockMounter() = default;
MockMounter::~MockMounter() = default;

}  // namespace nixsnap::testing
