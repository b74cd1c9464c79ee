# What the rootless NixOS module and the Home Manager module share, for the layout of
# nix/rootless.nix: the snapshotter's default settings, the containerd config that
# points at it, the CRI endpoint kubelet would use, and the [Service] keys of the
# rootless containerd user unit.
{ lib, cfg, scripts }:

{
  settings = {
    # Paths inside rootlesskit's mount namespace (see nix/rootless.nix).
    address = lib.mkDefault "/run/nix-snapshotter/nix-snapshotter.sock";
    fuse_overlayfs = lib.mkDefault true;
    image_service = {
      enable = lib.mkDefault true;
      containerd_address = lib.mkDefault "/run/containerd/containerd.sock";
    };
  };

  containerdSettings = {
    version = lib.mkDefault 2;
  } // import ./containerd-settings.nix {
    inherit (cfg.settings) address;
    setSnapshotter = cfg.setContainerdSnapshotter;
  };

  # Expanded by the user's shell.
  imageServiceEndpoint = "unix://$XDG_RUNTIME_DIR/nix-snapshotter/nix-snapshotter.sock";

  containerdService = {
    Type = "simple";
    ExecStart = "${scripts.containerd}";
    Restart = "always";
    RestartSec = "2s";
    Delegate = "yes";
    KillMode = "mixed";
    LimitNOFILE = 1048576;
  };
}
