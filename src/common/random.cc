#include "common/random.h"

#include <mutex>
#include <random>

#include "common/hex.h"

namespace nixsnap {
namespace {
class SystemRandom final : public Random {
 public:
  uint64_t next() override {
    std::lock_guard lock(mu_);  // std::random_device is not thread-safe
    return (static_cast<uint64_t>(device_()) << 32) | device_();
  }

 private:
  std::mutex mu_;
  std::random_device device_;
};
}  // namespace

RandomPtr makeSystemRandom() { return std::make_shared<SystemRandom>(); }

std::string randomHex(Random& random, size_t n) {
  std::string s;
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) {
      bits = random.next();
    }
    s.push_back(hexDigit(static_cast<unsigned>(bits)));
    bits >>= 4;
  }
  return s;
}

}  // namespace nixsnap
