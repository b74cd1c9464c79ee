// Test helpers for snapshotters over a private store of made-up store paths.
#pragma once

#include <string>
#include <vector>

#include "snapshotter/factory.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::testing {

/// Options of the production snapshotter under `dir`, with store dir `dir/store` holding
/// made-up paths that Nix does not know, "realised" by a builder that does nothing
/// (`true`), so Prepare/View of labelled snapshots need no real Nix.
inline snapshotter::Options madeUpStoreOptions(const fs::path& dir) {
  snapshotter::Options o;
  o.root = dir / "root";
  o.nix_state_dir = dir / "nixstate";
  o.store_dir = dir / "store";
  o.external_builder = "true";
  return o;
}

/// `<store_dir>/<32 x c>-<name>`, created as a directory.
inline std::string madeUpStorePath(const fs::path& store_dir, char c, const std::string& name) {
  std::string p = store_dir.string() + "/" + std::string(32, c) + "-" + name;
  fs::create_directories(p);
  return p;
}

/// containerd.io/snapshot/nix-store-path.<i> = ps[i].
inline snapshotter::Labels storePathLabels(const std::vector<std::string>& ps) {
  snapshotter::Labels l;
  for (size_t i = 0; i < ps.size(); ++i) {
    l[snapshotter::kLabelNixStorePathPrefix + std::to_string(i)] = ps[i];
  }
  return l;
}

}  // namespace nixsnap::testing
