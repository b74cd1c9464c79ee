# services.k3s.{snapshotter,setKubeConfig,setEmbeddedContainerd,moreFlags}: additions
# to NixOS' k3s module. With virtualisation.containerd.k3sIntegration, k3s runs its pods
# on the system containerd (and so on nix-snapshotter); the embedded containerd cannot
# use this nix-snapshotter (see ../common/k3s-rootless.nix, docs/nixos.md).
{ config, lib, pkgs, ... }:
let
  cfg = config.services.k3s;
  units = import ../../nix/units.nix { inherit lib; };
in
{
  imports = [ ../common/k3s.nix ];

  options.services.k3s = {
    moreFlags = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "--disable traefik" ];
      description = ''
        Arguments of k3s that several modules can add to (a list; NixOS' extraFlags
        is set from it).
      '';
    };
  };

  config = lib.mkIf (cfg.enable or false) (lib.mkMerge [
    {
      warnings = lib.optional (cfg.snapshotter == "nix") ''
        services.k3s.snapshotter = "nix" needs a k3s with the nix snapshotter compiled in;
        this nix-snapshotter runs as its own process and cannot be. Use
        virtualisation.containerd = { nixSnapshotterIntegration = true; k3sIntegration = true; }.'';

      environment.extraInit =
        lib.optionalString cfg.setEmbeddedContainerd (units.exportUnset {
          CONTAINERD_ADDRESS = "/run/k3s/containerd/containerd.sock";
          CONTAINERD_NAMESPACE = "k8s.io";
          CONTAINERD_SNAPSHOTTER = cfg.snapshotter;
        })
        + lib.optionalString cfg.setKubeConfig (units.exportUnset {
          KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
        });

      services.k3s.moreFlags = lib.optional (cfg.snapshotter != "overlayfs") "--snapshotter ${cfg.snapshotter}";
    }
    (lib.mkIf (cfg.moreFlags != [ ]) {
      services.k3s.extraFlags = toString cfg.moreFlags;
    })
  ]);
}
