#pragma once

#include <string>

#include "common/process_runner.h"
#include "nix/root_reaper.h"
#include "nix/root_registrar.h"
#include "nix/store.h"

namespace nixsnap::nix {

class RootRollback;

/// NixStore for config `external_builder`: runs `EXE OUTLINK STOREPATH` once per path,
/// in order; the executable must make STOREPATH valid and create OUTLINK as a GC root
/// (e.g. `nix build --out-link OUTLINK STOREPATH`). The original's contract, kept for
/// existing configurations.
class ExternalBuilderStore final : public NixStore {
 public:
  /// @param executable absolute path or PATH name of the builder.
  /// @param nix_state_dir for closure queries from Nix's database, e.g. "/nix/var/nix".
  /// @param nix_store     the nix-store executable for closure queries (PATH name or path).
  /// @param registrar     roots paths known to be valid without the builder
  ///                      (realiseKnownValid); default: `nix-daemon --stdio` next to
  ///                      `nix_store` (NixDaemonRootRegistrar).
  ExternalBuilderStore(ProcessRunnerPtr runner, std::string executable, fs::path nix_state_dir,
                       std::string nix_store = "nix-store", RootRegistrarPtr registrar = nullptr);

  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir) override;
  /// Once `cancel` fires, the running builder is stopped (its process group: SIGTERM,
  /// then SIGKILL) and the outlinks of this call are removed before Canceled is returned.
  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                 const CancelToken& cancel) override;
  /// The builder runs only for paths not in `known_valid`; those get a root of ours
  /// (symlink registered with Nix through the registrar), checked on disk afterwards. If
  /// Nix refuses the registration or a path is gone, the builder runs for it as usual.
  Status realiseKnownValid(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                           const CancelToken& cancel,
                           const std::vector<fs::path>& known_valid) override;
  /// Detaches the roots at once and deletes them in the background (RootReaper).
  Status removeRoots(const fs::path& gc_root_dir) override;
  /// Nix's database, else `nix-store --query --requisites P` (requisitesOf): the
  /// builder contract has no query of its own.
  Result<std::vector<fs::path>> requisites(const fs::path& store_path) override;

  /// Waits until background root removal is done (tests).
  void waitForRemovals() { reaper_.waitIdle(); }

 private:
  /// Roots `known_valid` paths without the builder; returns those it rooted (all or none).
  std::vector<fs::path> rootKnownValid(const std::vector<fs::path>& known_valid,
                                       const fs::path& gc_root_dir, RootRollback& undo);
  /// Runs the builder for `p`, its outlink `root`.
  Status build(const fs::path& p, const fs::path& root, const CancelToken& cancel);

  ProcessRunnerPtr runner_;
  std::string executable_;
  fs::path nix_state_dir_;
  std::string nix_store_;
  RootRegistrarPtr registrar_;
  RootReaper reaper_;
};

}  // namespace nixsnap::nix
