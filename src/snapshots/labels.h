#pragma once

#include <cstddef>

/// Label keys of the wire contract, in one place: containerd's, and nix-snapshotter's.
/// An image layer's annotations with these keys reach the snapshotter as labels of the
/// same name (containerd's unpacker passes "containerd.io/snapshot/" annotations on), so
/// nix2container writes and the snapshotter reads the same constants.
namespace nixsnap::snapshots {

/// containerd: the committed name a Prepare is unpacked for (remote snapshotters).
inline constexpr char kLabelSnapshotRef[] = "containerd.io/snapshot.ref";
/// Longest label key plus value, in bytes (containerd labels.Validate).
inline constexpr size_t kMaxLabelSize = 4096;
/// The legacy Nix layer format: "true", plus one store path per kLabelNixStorePathPrefix<i>.
inline constexpr char kLabelNixLayer[] = "containerd.io/snapshot/nix-layer";
inline constexpr char kLabelNixStorePathPrefix[] = "containerd.io/snapshot/nix-store-path.";
/// The closure format (the original's v0.3+): the store path of a nixpkgs closureInfo
/// output, whose `store-paths` file lists the paths to bind.
inline constexpr char kLabelNixClosure[] = "containerd.io/snapshot/nix-closure";

}  // namespace nixsnap::snapshots
