#include "common/sleeper.h"

#include <thread>

namespace nixsnap {
namespace {
class ThreadSleeper final : public Sleeper {
 public:
  void sleepFor(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};
}  // namespace

SleeperPtr makeThreadSleeper() { return std::make_shared<ThreadSleeper>(); }

}  // namespace nixsnap
