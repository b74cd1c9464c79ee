#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "oci/types.h"

namespace nixsnap::oci {

/// Largest JSON document (index.json, manifest.json, a manifest or config blob) a layout
/// reader accepts; writers refuse to produce a larger one, so what is built can be read.
inline constexpr int64_t kMaxJsonBlobBytes = 4 << 20;

/// The one image an archive holds, with its blobs verified on disk.
struct LayoutImage {
  std::vector<std::string> names;  ///< from the index annotations or docker RepoTags
  Descriptor manifest_desc;        ///< the index's descriptor (annotations kept)
  Manifest manifest;
  std::string config_json;            ///< raw config bytes (digest = manifest.config.digest)
  std::vector<std::string> diff_ids;  ///< config rootfs.diff_ids, one per layer
};

/// An extracted OCI layout (or a docker archive normalised into one).
struct Layout {
  fs::path root;
  LayoutImage image;
  /// root/blobs/sha256/<hex>.
  fs::path blobPath(const std::string& digest) const;
};

/// Reads the archive extracted at `root` (see extractImageArchive): an OCI layout when
/// index.json exists, else a docker archive (manifest.json), which is converted in place
/// into an OCI layout (layer media types from the bytes: tar, gzip or zstd). Every blob
/// the image uses must exist with the digest and size its descriptor states.
/// @return the layout; InvalidArgument naming the problem: no or several manifests,
///         missing blob, digest or size mismatch, unknown media type, a document that is
///         no JSON object, a field of index.json, a manifest or manifest.json missing or of
///         the wrong type, named by document and path ("index.json: manifests[0].digest:
///         expected a string, got number", "manifest.json[0].Config: expected a string, got
///         number"), layer count not matching the config's diff IDs.
Result<Layout> openLayout(const fs::path& root);

/// containerd's normalisation of docker names: "hello" -> "docker.io/library/hello:latest",
/// "me/app:1" -> "docker.io/me/app:1"; names with a registry host stay as they are.
std::string normalizeDockerName(const std::string& name);

/// Media type of a layer from its first bytes: gzip, zstd, or plain tar.
/// @return InvalidArgument when the file cannot be read.
Result<std::string> sniffLayerMediaType(const fs::path& blob);

}  // namespace nixsnap::oci
