// Image configs: the user's --config section, a whole base/archive config, and the merge
// of the two the builder writes into the new image.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "image/image_config.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::asText(data, size);
  auto user = image::parseUserConfig(text);
  fuzz::checkError(user.status());
  auto whole = image::parseImageConfig(text);
  fuzz::checkError(whole.status());
  if (whole.isOk() && whole->contains("config")) {
    const auto& base = (*whole)["config"];
    auto merged = image::mergeConfig(base, user.isOk() ? *user : nlohmann::json::object());
    // What the builder writes must read back as a valid config section.
    nlohmann::json out = {{"config", merged}};
    auto back = image::parseImageConfig(out.dump());
    NIXSNAP_FUZZ_CHECK(back.isOk(), back.status().message());
  }
  if (user.isOk()) {
    auto back = image::parseUserConfig(user->dump());
    NIXSNAP_FUZZ_CHECK(back.isOk(), back.status().message());
  }
  return 0;
}
