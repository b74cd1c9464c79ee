#pragma once

// The Nix layer of a nix2container image (docs/image-format.md): what `build` reads for it
// (closure and copy-to-root lists), the tar members it writes, and its annotations, which
// `load` checks. Not the snapshotter's snapshotter::NixLayer (realising and mounting).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "oci/tar_writer.h"
#include "snapshots/labels.h"

namespace nixsnap::image {

/// The Nix layer's annotation keys are the snapshotter's label keys (snapshots/labels.h).
using snapshots::kLabelNixClosure;
using snapshots::kLabelNixLayer;
using snapshots::kLabelNixStorePathPrefix;

/// Parses a closure file (nixpkgs closureInfo's store-paths): one store path per line,
/// blank lines ignored, duplicates dropped, order kept.
/// @param store_dir absolute, e.g. "/nix/store".
/// @return the paths; InvalidArgument naming the line number and text of a non-store line.
Result<std::vector<std::string>> parseClosure(std::string_view text, const fs::path& store_dir);

/// Parses --copy-to-root: a JSON list of store paths.
/// @return InvalidArgument for bad JSON or a path outside the store.
Result<std::vector<std::string>> parseCopyToRoot(std::string_view text, const fs::path& store_dir);

/// The members of the Nix layer: "nix", "nix/store", and an empty mountpoint per closure
/// path of the type the snapshotter's bind mount puts there: a directory (0555) when the
/// path, following symlinks, is a directory, else an empty file (0444); plus the
/// copyToRoot links: every file or symlink of each root store path R is linked at the
/// same relative path under "/" to "R/<rel>", directories are recreated (0755). A root
/// that is a symlink to another store path T is followed: T's files are linked as
/// "T/<rel>" (the original's #165). Rules (docs/image-format.md): roots are taken in
/// order and the first one to provide a path wins (a later file, or a later directory
/// where a file exists, is skipped with its subtree); nothing under "nix/" is linked, so
/// no store mountpoint is shadowed; a root that is a single file is linked at "/<name>"
/// (its store path name without the hash).
/// Every root, and the store path a symlink root leads to, must be in `closure`: the
/// links point into store paths that only the closure's mountpoints provide at run time.
/// @return NotFound naming a closure path that is missing (or a dangling symlink) at
///         build time; InvalidArgument for a root that is not in `closure` (or leads to a
///         store path that is not), cannot be read, or leads out of the store.
Result<std::vector<oci::TarEntry>> nixLayerEntries(const std::vector<std::string>& closure,
                                                   const std::vector<std::string>& copy_to_root,
                                                   const fs::path& store_dir);

/// The Nix annotations of a layer (nix-closure, nix-layer, nix-store-path.<i>): the labels
/// its snapshot must carry for the snapshotter to realise and mount its closure.
std::map<std::string, std::string> nixAnnotations(
    const std::map<std::string, std::string>& annotations);

/// Checks a layer's annotations as read from an untrusted archive, before anything reaches
/// containerd: a layer with `containerd.io/snapshot/nix-store-path.*` annotations must also
/// carry `containerd.io/snapshot/nix-layer: "true"`, and every store-path value, and the
/// `containerd.io/snapshot/nix-closure` value, must pass nix::checkStorePathSyntax (the
/// snapshotter checks the closure's `store-paths` lines itself when it reads them).
/// @param digest      the layer digest, for messages.
/// @param annotations the layer descriptor's annotations.
/// @param store_dir   absolute, e.g. "/nix/store".
/// @return OK; InvalidArgument naming the layer digest and the offending annotation.
Status checkNixLayerAnnotations(const std::string& digest,
                                const std::map<std::string, std::string>& annotations,
                                const fs::path& store_dir);

}  // namespace nixsnap::image
