#include "common/sleeper.h"

#include <thread>

namespace nixsnap {

void WakeFlag::set() {
  {
    std::lock_guard lock(mu_);
    set_ = true;
  }
  cv_.notify_all();
}

bool WakeFlag::isSet() const {
  std::lock_guard lock(mu_);
  return set_;
}

bool WakeFlag::waitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return set_; });
}

namespace {
class ThreadSleeper final : public Sleeper {
 public:
  void sleepFor(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
  bool sleepUnlessWoken(std::chrono::milliseconds d, WakeFlag& wake) override {
    return wake.waitFor(d);
  }
};
}  // namespace

SleeperPtr makeThreadSleeper() { return std::make_shared<ThreadSleeper>(); }

}  // namespace nixsnap
