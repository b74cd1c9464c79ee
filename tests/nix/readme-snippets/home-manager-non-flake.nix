{ pkgs, ... }:
let
  nix-snapshotter = import (
    builtins.fetchTarball "https://github.com/pdtpartners/nix-snapshotter/archive/main.tar.gz"
  );

in {
  imports = [
    # (1) Import home-manager module.
    nix-snapshotter.homeModules.default
  ];

  # (2) Add overlay.
  #
  # NOTE: If using NixOS & home-manager.useGlobalPkgs = true, then add
  # the overlay at the NixOS level.
  nixpkgs.overlays = [ nix-snapshotter.overlays.default ];

  # (3) Enable service.
  virtualisation.containerd.rootless = {
    enable = true;
    nixSnapshotterIntegration = true;
  };
  services.nix-snapshotter.rootless = {
    enable = true;
  };

  # (4) Add a containerd CLI like nerdctl.
  home.packages = [ pkgs.nerdctl ];
}
