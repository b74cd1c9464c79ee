#pragma once

#include <cstddef>
#include <string>

#include "common/fs.h"
#include "common/status.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// How the daemon's snapshotter is put together (from config and flags).
struct Options {
  fs::path root;                            ///< absolute; holds metadata.db, snapshots/, gcroots/
  fs::path store_dir = "/nix/store";        ///< Nix store directory store-path labels must be in
  fs::path nix_state_dir = "/nix/var/nix";  ///< where Nix keeps gcroots/ (indirect roots)
  std::string external_builder;             ///< empty: nix-store; else `EXE OUTLINK STOREPATH`
  bool fuse_overlayfs = false;              ///< rootless: "fuse3.fuse-overlayfs" mounts
  bool overlay_userxattr = false;           ///< rootless kernel overlayfs: "userxattr" option
  size_t max_parallel_realisations = 4;     ///< RealiseScheduler bound (config key of that name)
};

/// Builds the production snapshotter (overlay semantics + Nix layer) over `options.root`,
/// creating the directory layout and opening/migrating the metadata database.
/// @return Internal/PermissionDenied when the root cannot be prepared; InvalidArgument for
///         relative paths.
Result<SnapshotterPtr> makeSnapshotter(const Options& options);

}  // namespace nixsnap::snapshotter
