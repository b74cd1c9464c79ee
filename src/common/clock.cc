#include "common/clock.h"

namespace nixsnap {
namespace {
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};
}  // namespace

ClockPtr makeSystemClock() { return std::make_shared<SystemClock>(); }

}  // namespace nixsnap
