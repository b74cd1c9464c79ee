#pragma once

#include <gmock/gmock.h>

#include <string_view>

#include "server/notifier.h"

namespace nixsnap::server {

class MockNotifier : public Notifier {
 public:
  MockNotifier();
  ~MockNotifier() override;
  MOCK_METHOD(void, notify, (std::string_view state), (override));
};

}  // namespace nixsnap::server
