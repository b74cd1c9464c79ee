#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/process_runner.h"
#include "containerd/client.h"
#include "containerd/config_source.h"

namespace nixsnap::containerd {

/// containerd's default configuration file (`containerd --config`'s default).
inline constexpr const char* kContainerdDefaultConfig = "/etc/containerd/config.toml";

/// The `--config` file a containerd command line names: `--config X`, `--config=X`,
/// `-c X`, `-c=X` (single or double dash, the last one wins); kContainerdDefaultConfig
/// when there is none.
/// @param argv containerd's argv (argv[0] included), as in /proc/<pid>/cmdline.
/// @return the path as given (absolute or relative to containerd's working directory).
/// Pure; thread-safe.
std::string containerdConfigPath(const std::vector<std::string>& argv);

/// Finds the running containerd through its introspection service (Server: pid and pid
/// namespace) and asks that very binary for its effective configuration:
/// `/proc/<pid>/exe --config <its config file> config dump`. The config file is the one on
/// containerd's command line (/proc/<pid>/cmdline), resolved against containerd's working
/// directory, and seen through /proc/<pid>/root when containerd runs in another mount
/// namespace. Refuses (FailedPrecondition) when containerd is in another pid namespace, or
/// when its process or binary is not owned by this daemon's user or its binary is group-
/// or world-writable: the daemon runs as root and must not execute a binary a socket peer
/// points it at.
/// Limitation: a config file edited after containerd started reads as the new content.
class ProcContainerdConfigSource final : public ContainerdConfigSource {
 public:
  /// @param containerd containerd's API (its introspection service: Server).
  /// @param runner     runs the `config dump` command.
  /// @param proc_root  procfs mount point, "/proc" (a fake tree in tests).
  /// @param timeout    deadline of `config dump`.
  ProcContainerdConfigSource(ContainerdClientPtr containerd, ProcessRunnerPtr runner,
                             fs::path proc_root = "/proc",
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  Result<std::string> effectiveConfig() override;

 private:
  ContainerdClientPtr containerd_;
  ProcessRunnerPtr runner_;
  fs::path proc_root_;
  std::chrono::milliseconds timeout_;
};

/// ProcContainerdConfigSource over `containerd` with the real /proc and `runner`.
ContainerdConfigSourcePtr makeProcContainerdConfigSource(ContainerdClientPtr containerd,
                                                         ProcessRunnerPtr runner);

}  // namespace nixsnap::containerd
