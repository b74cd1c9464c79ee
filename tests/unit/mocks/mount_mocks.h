#pragma once

#include <gmock/gmock.h>

#include "mount/mounter.h"

namespace nixsnap::testing {

class MockMounter : public mount::Mounter {
 public:
  MockMounter();
  ~MockMounter() override;
  MOCK_METHOD(Status, mount, (const mount::Mount& m, const fs::path& target), (override));
  MOCK_METHOD(Status, unmount, (const fs::path& target), (override));
  MOCK_METHOD(bool, supportsOverlay, (), (override));
};

}  // namespace nixsnap::testing
