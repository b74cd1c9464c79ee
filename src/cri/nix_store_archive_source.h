#pragma once

#include <string>

#include "common/process_runner.h"
#include "cri/archive_source.h"

namespace nixsnap::cri {

/// ArchiveSource over the `nix-store` command line. After realising, it also refuses a
/// store path that is a symlink leading out of the store (InvalidArgument).
class NixStoreArchiveSource : public ArchiveSource {
 public:
  /// @param runner    runs nix-store; shared, thread-safe.
  /// @param store_dir absolute store directory, "/nix/store".
  /// @param nix_store program name or absolute path of nix-store.
  NixStoreArchiveSource(ProcessRunnerPtr runner, fs::path store_dir = "/nix/store",
                        std::string nix_store = "nix-store");

  Status ensureValid(const fs::path& store_path) override;

 private:
  ProcessRunnerPtr runner_;
  fs::path store_dir_;
  std::string nix_store_;
};

}  // namespace nixsnap::cri
