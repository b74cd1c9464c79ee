# virtualisation.containerd.rootless on NixOS: a user unit every user can run, and
# CONTAINERD_* in login shells. Layout: ../../nix/rootless.nix.
{ config, lib, ... }:
let
  cfg = config.virtualisation.containerd.rootless;
  units = import ../../nix/units.nix { inherit lib; };
in
{
  imports = [ ../common/containerd-rootless.nix ];

  config = lib.mkIf cfg.enable {
    environment.extraInit = units.exportUnset (units.containerdVars {
      address = cfg.setAddress;
      namespace = cfg.setNamespace;
      snapshotter = cfg.setSnapshotter;
    });

    systemd.user.services.containerd = lib.mkMerge [
      (units.toNixOS cfg.unit)
      {
        description = "containerd, container runtime (rootless)";
        environment = config.networking.proxy.envVars or { };
      }
    ];
  };
}
