#pragma once

#include <string>

#include "common/process_runner.h"
#include "nix/root_registrar.h"

namespace nixsnap::nix {

/// RootRegistrar that asks Nix itself: one `nix-daemon --stdio` session per call, sending
/// the worker protocol's AddIndirectRoot for each root (what `nix-store --add-root` does).
/// `nix-daemon --stdio` serves the local store when the caller may write it (root), and
/// forwards to the Nix daemon's socket under NIX_REMOTE=daemon (an unprivileged user, e.g.
/// rootless): the daemon, running as root, writes the registration in gcroots/auto. So
/// the same code works for single-user and multi-user Nix, and nothing but Nix writes
/// Nix's state directory. The session is written whole to stdin and read whole from
/// stdout: every reply is fixed by the version we announce, so no back-and-forth is needed.
class NixDaemonRootRegistrar final : public RootRegistrar {
 public:
  /// @param runner  runs the program (shared, thread-safe).
  /// @param program the nix-daemon executable, looked up in PATH.
  explicit NixDaemonRootRegistrar(ProcessRunnerPtr runner, std::string program = "nix-daemon");

  Status registerRoots(const std::vector<fs::path>& roots) override;

 private:
  ProcessRunnerPtr runner_;
  std::string program_;
};

}  // namespace nixsnap::nix
