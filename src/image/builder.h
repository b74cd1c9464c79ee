#pragma once

#include <string>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::image {

/// Inputs of `nix2container build` (DESIGN.md sections 1-3).
struct BuildOptions {
  fs::path config;  ///< optional: image config JSON (keys case-insensitive)
  /// optional: a closureInfo output (its directory or its store-paths file), or a plain
  /// file of store paths, one per line (closure_input.h)
  fs::path closure;
  fs::path copy_to_root;  ///< optional: JSON list of store paths linked at "/"
  fs::path from_image;    ///< optional: base image archive (OCI or docker; plain/gzip/zstd)
  std::string ref;        ///< image name; empty: "nix:0<absolute out>:latest"
  fs::path out;           ///< the archive to write
  fs::path store_dir = "/nix/store";
  fs::path tmp_dir;  ///< scratch space; empty: $TMPDIR or /tmp
  /// Write the legacy nix-layer + nix-store-path.<i> annotations even when `closure` is a
  /// closureInfo (for snapshotters older than the closure format).
  bool legacy_nix_layer = false;
};

/// What was written.
struct BuildResult {
  std::string name;             ///< the name in index.json
  std::string manifest_digest;  ///< "sha256:<hex>"
  std::string config_digest;
  std::string nix_layer_digest;
  std::string nix_closure;  ///< the nix-closure annotation's value; empty: legacy format
};

/// Writes the OCI archive (oci-layout, index.json, docker-compatible manifest.json,
/// blobs/sha256/...): base layers first, then the single Nix layer. Its annotations
/// (docs/image-format.md): when `closure` is a closureInfo and not `legacy_nix_layer`,
/// the closure format, one `containerd.io/snapshot/nix-closure: <closureInfo>` and a
/// mountpoint for every line of its store-paths; otherwise the legacy format, nix-layer
/// and nix-store-path.<i> in closure order, without the config file's own store path.
/// Byte-identical output for the same inputs, whatever the umask and temporary directory.
/// @return the digests; InvalidArgument naming the bad input (config key, closure line,
///         base archive member, platform mismatch, a copy-to-root path outside the
///         closure); NotFound for a missing input file or a closure path missing from the
///         store.
Result<BuildResult> buildImage(const BuildOptions& options);

}  // namespace nixsnap::image
