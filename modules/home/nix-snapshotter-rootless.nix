# services.nix-snapshotter.rootless for Home Manager: the nix-snapshotter user unit,
# next to virtualisation.containerd.rootless. The host needs a Nix daemon.
{ config, lib, ... }:
let
  cfg = config.services.nix-snapshotter.rootless;
in
{
  imports = [
    ../common/nix-snapshotter-rootless.nix
    ./containerd-rootless.nix
    # The names of this project's earlier Home Manager module.
    (lib.mkRenamedOptionModule [ "services" "nix-snapshotter" "package" ]
      [ "services" "nix-snapshotter" "rootless" "package" ])
    (lib.mkRenamedOptionModule [ "services" "nix-snapshotter" "settings" ]
      [ "services" "nix-snapshotter" "rootless" "settings" ])
    (lib.mkRemovedOptionModule [ "services" "nix-snapshotter" "enable" ] ''
      Set virtualisation.containerd.rootless = { enable = true; nixSnapshotterIntegration = true; }
      and services.nix-snapshotter.rootless.enable = true.'')
    (lib.mkRemovedOptionModule [ "services" "nix-snapshotter" "preloadContainerdImages" ]
      "Use services.preload-containerd.rootless = { enable = true; targets = [ ... ]; }.")
    (lib.mkRemovedOptionModule [ "services" "nix-snapshotter" "preloadNamespaces" ]
      "Use services.preload-containerd.rootless.targets, one target per namespace.")
  ];

  config = lib.mkIf cfg.enable {
    home.packages = [ cfg.package ];
    systemd.user.services.nix-snapshotter = cfg.unit;
  };
}
