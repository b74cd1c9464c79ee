# services.nix-snapshotter.rootless on NixOS: the nix-snapshotter user unit, next to
# rootless containerd (virtualisation.containerd.rootless):
#
#   virtualisation.containerd.rootless = { enable = true; nixSnapshotterIntegration = true; };
#   services.nix-snapshotter.rootless.enable = true;
#   users.users.alice.autoSubUidGidRange = true;   # rootlesskit needs subordinate ids
{ config, lib, ... }:
let
  cfg = config.services.nix-snapshotter.rootless;
  units = import ../../nix/units.nix { inherit lib; };
in
{
  imports = [
    ../common/nix-snapshotter-rootless.nix
    ./containerd-rootless.nix
    (lib.mkRenamedOptionModule
      [ "services" "nix-snapshotter" "rootless" "containerdSettings" ]
      [ "virtualisation" "containerd" "rootless" "settings" ])
    (lib.mkRenamedOptionModule
      [ "services" "nix-snapshotter" "rootless" "setContainerdSnapshotter" ]
      [ "virtualisation" "containerd" "rootless" "nixSnapshotterIntegration" ])
    (lib.mkRemovedOptionModule [ "services" "nix-snapshotter" "rootless" "preloadContainerdImages" ]
      "Use services.preload-containerd.rootless = { enable = true; targets = [ ... ]; }.")
    (lib.mkRemovedOptionModule [ "services" "nix-snapshotter" "rootless" "preloadNamespaces" ]
      "Use services.preload-containerd.rootless.targets, one target per namespace.")
  ];

  config = lib.mkIf cfg.enable {
    systemd.user.services.nix-snapshotter = lib.mkMerge [
      (units.toNixOS cfg.unit)
      { description = "nix-snapshotter, containerd snapshotter for Nix images (rootless)"; }
    ];
  };
}
