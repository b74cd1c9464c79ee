#pragma once

#include "common/status.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// The Nix labels of a snapshot decide its GC roots (realised at Prepare) and the bind
/// mounts of every descendant, so they are fixed when the snapshot is created: a later
/// Commit or Update cannot add, change or drop them (a path added then would be mounted
/// without ever being realised or rooted).
///
/// Nix labels: "containerd.io/snapshot/nix-layer", "containerd.io/snapshot/nix-closure"
/// and every key starting with "containerd.io/snapshot/nix-store-path.".

/// True for a Nix label key (see above).
bool isNixLabel(const std::string& key);

/// The Nix labels of `labels` (a sub-map, same keys and values).
Labels nixLabels(const Labels& labels);

/// The labels a Commit stores for the committed snapshot, following containerd's rule that
/// Commit's labels replace the active snapshot's, except for Nix labels:
/// - `requested` has no Nix label: the active snapshot's Nix labels are kept;
/// - `requested` has exactly the active snapshot's Nix labels: as requested;
/// @return InvalidArgument naming the first Nix label that would be added, changed or
///         dropped otherwise.
Result<Labels> commitLabels(const Labels& active, const Labels& requested);

/// Checks that an Update leaves the Nix labels as they were.
/// @return InvalidArgument naming the first Nix label that `after` adds, changes or drops.
Status checkNixLabelsUnchanged(const Labels& before, const Labels& after);

}  // namespace nixsnap::snapshotter
