#pragma once

#include <functional>
#include <utility>

namespace nixsnap {

/// Whether the caller of a long operation has given up (a gRPC client's deadline passed
/// or it went away). Polled, so the proto-free core needs no gRPC types: the gRPC adapter
/// wraps ServerContext::IsCancelled. A default token is never cancelled.
class CancelToken {
 public:
  CancelToken() = default;
  explicit CancelToken(std::function<bool()> poll) : poll_(std::move(poll)) {}

  /// True once the caller gave up; stays true. Thread-safe if `poll` is.
  bool cancelled() const { return poll_ && poll_(); }
  /// False for a token that can never be cancelled (callers may skip waiting machinery).
  bool canCancel() const { return static_cast<bool>(poll_); }

 private:
  std::function<bool()> poll_;
};

}  // namespace nixsnap
