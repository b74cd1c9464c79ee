{ pkgs, ... }:
let
  nix-snapshotter = import (
    builtins.fetchTarball "https://github.com/pdtpartners/nix-snapshotter/archive/main.tar.gz"
  );

in {
  imports = [
    ./hardware-configuration.nix
    # (1) Import nixos module.
    nix-snapshotter.nixosModules.default
  ];

  # (2) Add overlay.
  nixpkgs.overlays = [ nix-snapshotter.overlays.default ];

  # (3) Enable service.
  virtualisation.containerd = {
    enable = true;
    nixSnapshotterIntegration = true;
  };
  services.nix-snapshotter = {
    enable = true;
  };

  # (4) Add a containerd CLI like nerdctl.
  environment.systemPackages = [ pkgs.nerdctl ];
}
