#pragma once

#include <string>

#include "common/process_runner.h"
#include "nix/root_reaper.h"
#include "nix/store.h"

namespace nixsnap::nix {

/// NixStore for config `external_builder`: runs `EXE OUTLINK STOREPATH` once per path,
/// in order; the executable must make STOREPATH valid and create OUTLINK as a GC root
/// (e.g. `nix build --out-link OUTLINK STOREPATH`). The original's contract, kept for
/// existing configurations.
class ExternalBuilderStore final : public NixStore {
 public:
  /// @param executable absolute path or PATH name of the builder.
  /// @param nix_state_dir for closure queries from Nix's database, e.g. "/nix/var/nix".
  /// @param nix_store     the nix-store executable for closure queries (PATH name or path).
  ExternalBuilderStore(ProcessRunnerPtr runner, std::string executable, fs::path nix_state_dir,
                       std::string nix_store = "nix-store");

  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir) override;
  /// Detaches the roots at once and deletes them in the background (RootReaper).
  Status removeRoots(const fs::path& gc_root_dir) override;
  /// Nix's database, else `nix-store --query --requisites P` (requisitesOf): the
  /// builder contract has no query of its own.
  Result<std::vector<fs::path>> requisites(const fs::path& store_path) override;

  /// Waits until background root removal is done (tests).
  void waitForRemovals() { reaper_.waitIdle(); }

 private:
  ProcessRunnerPtr runner_;
  std::string executable_;
  fs::path nix_state_dir_;
  std::string nix_store_;
  RootReaper reaper_;
};

}  // namespace nixsnap::nix
