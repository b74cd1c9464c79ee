# virtualisation.containerd.rootless for Home Manager: the containerd user unit and
# CONTAINERD_* in the session. The host must provide setuid newuidmap/newgidmap
# (Debian: package uidmap) and subordinate ids for the user (/etc/subuid, /etc/subgid).
{ config, lib, ... }:
let
  cfg = config.virtualisation.containerd.rootless;
  units = import ../../nix/units.nix { inherit lib; };
in
{
  imports = [
    ../common/containerd-rootless.nix
    (lib.mkRenamedOptionModule
      [ "services" "nix-snapshotter" "containerdPackage" ]
      [ "virtualisation" "containerd" "rootless" "package" ])
    (lib.mkRenamedOptionModule
      [ "services" "nix-snapshotter" "containerdSettings" ]
      [ "virtualisation" "containerd" "rootless" "settings" ])
    (lib.mkRenamedOptionModule
      [ "services" "nix-snapshotter" "setContainerdSnapshotter" ]
      [ "virtualisation" "containerd" "rootless" "nixSnapshotterIntegration" ])
  ];

  config = lib.mkIf cfg.enable {
    home.packages = [ cfg.package ];
    home.sessionVariablesExtra = units.exportUnset (units.containerdVars {
      address = cfg.setAddress;
      namespace = cfg.setNamespace;
      snapshotter = cfg.setSnapshotter;
    });
    systemd.user.services.containerd = cfg.unit;
  };
}
