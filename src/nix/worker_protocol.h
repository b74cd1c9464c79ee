#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace nixsnap::nix::worker {

/// The few pieces of Nix's worker protocol (the daemon socket's, also spoken by
/// `nix-daemon --stdio`) that registering indirect roots needs. Facts from Nix's
/// worker-protocol.hh: every number is a little-endian u64; a string is its length then
/// its bytes, zero-padded to a multiple of 8.
inline constexpr uint64_t kMagic1 = 0x6e697863;  ///< client hello
inline constexpr uint64_t kMagic2 = 0x6478696f;  ///< daemon hello
/// The protocol version we announce: 1.21. Below 1.26 errors are a plain string and
/// status; below 1.33 the daemon sends no version string; every Nix since 2.0 serves it.
inline constexpr uint64_t kClientVersion = (1 << 8) | 21;
inline constexpr uint64_t kOpAddIndirectRoot = 12;

inline constexpr uint64_t kStderrNext = 0x6f6c6d67;
inline constexpr uint64_t kStderrLast = 0x616c7473;
inline constexpr uint64_t kStderrError = 0x63787470;
inline constexpr uint64_t kStderrStartActivity = 0x53545254;
inline constexpr uint64_t kStderrStopActivity = 0x53544f50;
inline constexpr uint64_t kStderrResult = 0x52534c54;

void putU64(std::string& out, uint64_t v);
void putString(std::string& out, std::string_view s);

/// The client's side of the handshake: magic, version, no CPU affinity, no reserveSpace.
std::string clientHello();

/// Reads a daemon's replies from a complete byte string. Every read fails with Internal
/// ("truncated ...") past the end, so hostile or cut-off output cannot overrun.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  Result<uint64_t> u64();
  Result<std::string> str();
  /// The daemon's hello: magic and protocol version (returned).
  Result<uint64_t> hello();
  /// Log messages up to the end of one operation's work: Ok at STDERR_LAST; the daemon's
  /// error text (Internal, or PermissionDenied for "Permission denied") at STDERR_ERROR.
  Status endOfWork();
  /// True once a read failed for want of bytes (more output may complete it).
  bool truncated() const { return truncated_; }

 private:
  Status skipActivityFields();
  std::string_view data_;
  size_t pos_ = 0;
  bool truncated_ = false;
};

}  // namespace nixsnap::nix::worker
