#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/sleeper.h"
#include "containerd/config_source.h"
#include "cri/cri_backend.h"

namespace nixsnap::cmd {

/// What the start-up check talks to.
struct BackendCheckDeps {
  cri::CriBackendPtr backend;  ///< containerd's CRI: Version, Status(verbose)
  /// containerd's effective config, read when CRI Status does not report
  /// disable_snapshot_annotations (containerd 2.x); null: that check is skipped.
  containerd::ContainerdConfigSourcePtr config_source;
  ClockPtr clock;      ///< the CRI calls' deadlines count from it
  SleeperPtr sleeper;  ///< the waits between attempts
};

/// nix-snapshotter's start-up check of containerd's settings: asks containerd's CRI,
/// retrying while it does not answer (waits of 200 ms, doubling up to 10 s), and logs
/// warnings about settings that break Nix images (backend_warnings.h). It only logs: the
/// daemon serves either way, and image service calls fail until containerd answers.
class BackendCheck {
 public:
  static constexpr std::chrono::milliseconds kFirstWait{200};
  static constexpr std::chrono::milliseconds kMaxWait{10000};

  /// @param snapshotter the snapshotter containerd's CRI should unpack with ("nix").
  explicit BackendCheck(BackendCheckDeps deps, std::string snapshotter = "nix");
  /// Stops the check and joins its thread.
  ~BackendCheck();
  BackendCheck(const BackendCheck&) = delete;
  BackendCheck& operator=(const BackendCheck&) = delete;

  /// Runs run() on a background thread. Idempotent.
  void start();
  /// The check in the calling thread: returns once containerd's CRI answered and its
  /// settings were checked, or once stop() was called.
  void run();
  /// Makes run() return instead of its next attempt or wait. Thread-safe.
  void stop();

 private:
  /// The second source (containerd 2.x): containerd's effective config.
  void checkEffectiveConfig();

  BackendCheckDeps deps_;
  std::string snapshotter_;
  WakeFlag stop_;
  std::mutex mu_;
  std::thread thread_;
};

}  // namespace nixsnap::cmd
