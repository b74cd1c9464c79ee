#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace nixsnap {

/// Source of unpredictable numbers for names that must not collide (lease ids, unpack
/// keys, temporary GC-root folders); a seam so tests get predictable names.
class Random {
 public:
  virtual ~Random() = default;
  /// The next 64 random bits. Thread-safe.
  virtual uint64_t next() = 0;
};
using RandomPtr = std::shared_ptr<Random>;

/// Random numbers from std::random_device (the kernel's generator).
RandomPtr makeSystemRandom();

/// `n` lowercase hex digits drawn from `random`.
std::string randomHex(Random& random, size_t n);

}  // namespace nixsnap
