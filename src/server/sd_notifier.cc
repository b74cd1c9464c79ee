#include <systemd/sd-daemon.h>

#include <cstring>
#include <string>

#include "common/log.h"
#include "server/notifier.h"

namespace nixsnap::server {
namespace {

/// Forwards to sd_notify; logs (does not fail) when the manager cannot be reached.
class SdNotifier : public Notifier {
 public:
  void notify(std::string_view state) override {
    const std::string s(state);
    const int rc = ::sd_notify(0, s.c_str());
    if (rc < 0) {
      NIXSNAP_LOG(Warn, "sd_notify failed", {{"state", s}, {"error", std::strerror(-rc)}});
    } else if (rc > 0) {
      NIXSNAP_LOG(Debug, "notified service manager", {{"state", s}});
    }
  }
};

}  // namespace

NotifierPtr makeSdNotifier() { return std::make_unique<SdNotifier>(); }

}  // namespace nixsnap::server
