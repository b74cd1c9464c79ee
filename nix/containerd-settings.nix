# The containerd settings nix-snapshotter needs, as a plain attribute set for
# containerd's config version 2 layout (containerd 2.x migrates it on load):
#   - the proxy plugin "nix" (a snapshotter reached over its unix socket);
#   - when setSnapshotter: CRI unpacks images with snapshotter "nix" and passes layer
#     annotations as snapshot labels (disable_snapshot_annotations = false), without
#     which Nix layers unpack as plain tars and containers find empty mountpoints.
{ address, setSnapshotter ? true }:
{
  proxy_plugins.nix = {
    type = "snapshot";
    inherit address;
  };
} // (if setSnapshotter then {
  plugins."io.containerd.grpc.v1.cri".containerd = {
    snapshotter = "nix";
    disable_snapshot_annotations = false;
  };
} else { })
