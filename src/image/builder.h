#pragma once

#include <string>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::image {

/// Inputs of `nix2container build` (DESIGN.md sections 1-3).
struct BuildOptions {
  fs::path config;        ///< optional: image config JSON (keys case-insensitive)
  fs::path closure;       ///< optional: newline-separated store paths (closureInfo store-paths)
  fs::path copy_to_root;  ///< optional: JSON list of store paths linked at "/"
  fs::path from_image;    ///< optional: base image archive (OCI or docker; plain/gzip/zstd)
  std::string ref;        ///< image name; empty: "nix:0<absolute out>:latest"
  fs::path out;           ///< the archive to write
  fs::path store_dir = "/nix/store";
  fs::path tmp_dir;  ///< scratch space; empty: $TMPDIR or /tmp
};

/// What was written.
struct BuildResult {
  std::string name;             ///< the name in index.json
  std::string manifest_digest;  ///< "sha256:<hex>"
  std::string config_digest;
  std::string nix_layer_digest;
};

/// Writes the OCI archive (oci-layout, index.json, docker-compatible manifest.json,
/// blobs/sha256/...): base layers first, then the single Nix layer annotated with
/// nix-layer and nix-store-path.<i> in closure order. Byte-identical output for the same
/// inputs, whatever the umask and temporary directory.
/// @return the digests; InvalidArgument naming the bad input (config key, closure line,
///         base archive member, platform mismatch); NotFound for a missing input file.
Result<BuildResult> buildImage(const BuildOptions& options);

}  // namespace nixsnap::image
