#pragma once

#include <memory>
#include <string_view>

namespace nixsnap::server {

/// Tells the service manager about the daemon's state (systemd's sd_notify protocol), so
/// `Type=notify` units know when the socket is ready and when shutdown begins.
class Notifier {
 public:
  virtual ~Notifier() = default;

  /// Sends one state assignment list, e.g. "READY=1" or "STOPPING=1".
  /// @param state newline-separated VAR=value assignments (sd_notify(3) format).
  /// @return nothing: notification is best effort; a daemon without NOTIFY_SOCKET or with
  ///         an unreachable manager keeps running. Thread-safe.
  /// Source: sd_notify(3), as containerd's `sys.SdNotify` uses it.
  virtual void notify(std::string_view state) = 0;
};
using NotifierPtr = std::unique_ptr<Notifier>;

/// The production notifier: libsystemd's sd_notify (a no-op when NOTIFY_SOCKET is unset).
NotifierPtr makeSdNotifier();

}  // namespace nixsnap::server
