#pragma once

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::nix {

/// Path of the indirect-root registration of `root` in Nix's state dir:
/// `<nix_state_dir>/gcroots/auto/<sha256 hex of root>`.
fs::path autoRootLink(const fs::path& nix_state_dir, const fs::path& root);

/// Creates symlink `root` -> `store_path`, then registers it as a Nix indirect root
/// (auto link -> `root`). An existing identical symlink is kept.
/// @return the errno class of symlink(2) (AlreadyExists if `root` points elsewhere).
Status addIndirectRoot(const fs::path& nix_state_dir, const fs::path& root,
                       const fs::path& store_path);

/// Removes the auto link of `root` (if it points at `root`), then `root` itself.
Status removeIndirectRoot(const fs::path& nix_state_dir, const fs::path& root);

/// removeIndirectRoot for every entry of `dir`, then a non-recursive rmdir of `dir`.
/// A missing `dir` is Ok. Keeps going after a failure and returns the first one.
Status removeRootDir(const fs::path& nix_state_dir, const fs::path& dir);

}  // namespace nixsnap::nix
