#pragma once

#include <string>

#include "common/process_runner.h"
#include "nix/root_reaper.h"
#include "nix/root_registrar.h"
#include "nix/store.h"

namespace nixsnap::nix {

/// Default NixStore: creates every GC root first (symlink in gc_root_dir, registered with
/// Nix as an indirect root through a RootRegistrar: Nix writes its gcroots/auto, as root
/// or through the Nix daemon), then realises the paths with as few
/// `nix-store --realise P1 ... Pn` processes as argv limits allow (one for ordinary
/// closures), which substitutes missing paths from the configured caches. Why not
/// `nix-store --realise P --add-root L` per path: thousands of processes for a large
/// closure, and its roots would only come after the realisation.
class NixStoreCli final : public NixStore {
 public:
  /// @param runner        runs the program (shared, thread-safe).
  /// @param nix_state_dir absolute, e.g. "/nix/var/nix".
  /// @param program       the nix-store executable, looked up in PATH.
  /// @param registrar     registers the roots with Nix; default: `nix-daemon --stdio`
  ///                      through `runner` (NixDaemonRootRegistrar).
  NixStoreCli(ProcessRunnerPtr runner, fs::path nix_state_dir, std::string program = "nix-store",
              RootRegistrarPtr registrar = nullptr);

  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir) override;
  /// Once `cancel` fires, nix-store is stopped (its process group: SIGTERM, then SIGKILL)
  /// and the roots made for this call are removed before Canceled is returned.
  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                 const CancelToken& cancel) override;
  /// Detaches the roots at once and deletes them in the background (RootReaper).
  Status removeRoots(const fs::path& gc_root_dir) override;
  /// Nix's database, else `nix-store --query --requisites P` (requisitesOf).
  Result<std::vector<fs::path>> requisites(const fs::path& store_path) override;

  /// Waits until background root removal is done (tests).
  void waitForRemovals() { reaper_.waitIdle(); }

  /// Most paths handed to one nix-store process.
  static constexpr size_t kMaxPathsPerProcess = 2000;

 private:
  ProcessRunnerPtr runner_;
  fs::path nix_state_dir_;
  std::string program_;
  RootRegistrarPtr registrar_;
  RootReaper reaper_;
};

}  // namespace nixsnap::nix
