#include "mocks/server_mocks.h"

namespace nixsnap::server {

MockNotifier::MockNotifier() = default;
MockNotifier::~MockNotifier() = default;

}  // namespace nixsnap::server
