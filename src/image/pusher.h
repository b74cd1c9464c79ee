#pragma once

#include <string>

#include "common/fs.h"
#include "common/status.h"
#include "image/progress.h"
#include "registry/client.h"

namespace nixsnap::image {

/// Pushes an image archive (OCI or docker; what `load` accepts) to a registry: every blob
/// missing there (layers, config) by monolithic upload, then the manifest under the tag.
/// @param ref "[host[:port]/]repository[:tag]", normalised as docker does
/// (registry::parseReference).
/// @param progress optional: told of each blob uploaded or skipped and of the manifest.
/// @return the manifest digest; InvalidArgument for a bad archive or reference; the
///         client's errors (PermissionDenied when the registry refuses the credentials,
///         Unavailable, Internal), the first one ending the push before the manifest.
Result<std::string> pushImage(registry::RegistryClient& client, const fs::path& archive,
                              const std::string& ref, const fs::path& tmp_dir = {},
                              ProgressSink* progress = nullptr);

}  // namespace nixsnap::image
