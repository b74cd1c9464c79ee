#include "cmd/image_services.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace nixsnap::cmd {
namespace {

TEST(ImageServicesTest, DisabledInConfigGivesNoServices) {
  config::Config c;
  c.image_service.enable = false;
  ImageServices made = makeImageServices(c);
  EXPECT_TRUE(made.services.empty());
  EXPECT_EQ(made.check, nullptr);
}

// The composition connects lazily: with containerd absent it still builds the service
// (calls then fail with UNAVAILABLE naming the socket).
TEST(ImageServicesTest, EnabledInConfigGivesTheCriImageService) {
  TempDir dir = ::nixsnap::testing::makeTempDir();
  config::Config c;
  c.root = (dir.path() / "root").string();
  c.image_service.enable = true;
  c.image_service.containerd_address = (dir.path() / "absent.sock").string();
  ImageServices made = makeImageServices(c);
  ASSERT_EQ(made.services.size(), 1u);
  EXPECT_NE(made.services.front(), nullptr);
  EXPECT_NE(made.check, nullptr);  // started; stopped when `made` goes
}

}  // namespace
}  // namespace nixsnap::cmd
