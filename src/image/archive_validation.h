#pragma once

#include "common/status.h"
#include "oci/layout.h"

namespace nixsnap::image {

/// Checks an opened image archive as strictly as containerd's CRI reads the image later,
/// before anything of it is written to containerd: the daemon loads nix:0 archives that
/// any user able to add a store path can hand it, and an image CRI cannot decode would
/// otherwise be loaded, refused by CRI, and end the pull in a 15 s DEADLINE_EXCEEDED.
/// Rules: the config passes parseImageConfig (every known field of its spec type);
/// architecture and os are set and are this machine's (oci::hostPlatform; CRI finds no
/// image for another platform); `created` (also in history) is an RFC 3339 time, as Go's
/// time.Time decodes it; rootfs.type is "layers" with one valid digest per layer.
/// @return Ok; InvalidArgument naming the field and the value found.
Status validateArchiveForCri(const oci::Layout& layout);

}  // namespace nixsnap::image
