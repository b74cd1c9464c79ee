# virtualisation.containerd.* beyond what NixOS declares (enable, settings, configFile,
# args, and package in some nixpkgs versions, are NixOS' own): nix-snapshotter, k3s and
# gVisor integration, the CRI default runtime, containerd's PATH and the CONTAINERD_*
# variables of login shells. NixOS writes config version 2, so the settings use that
# layout (containerd 2.x migrates it when it loads the file).
{ config, lib, pkgs, ... }:
let
  cfg = config.virtualisation.containerd;
  settingsLib = import ../../nix/containerd-settings.nix { inherit lib; };
  units = import ../../nix/units.nix { inherit lib; };
  layout = "v2";

  package = cfg.package or pkgs.containerd;
  socket = cfg.settings.grpc.address or "/run/containerd/containerd.sock";

  snapshotter = config.services.nix-snapshotter.settings or { };
  snapshotterAddress = snapshotter.address or "/run/nix-snapshotter/nix-snapshotter.sock";
  imageServiceOn = snapshotter.image_service.enable or true;

  # NixOS hands containerd configFile instead of the settings when it is set, so what the
  # integrations add to the settings would be dropped without a word.
  integrationsOn = lib.filter (name: cfg.${name})
    [ "nixSnapshotterIntegration" "k3sIntegration" "gVisorIntegration" ];
in
{
  imports = [ ../common/containerd.nix ./k3s.nix ];

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      virtualisation.containerd.settings = lib.mkMerge [
        (settingsLib.base { inherit layout; inherit (cfg) defaultRuntime; })
        (settingsLib.cni { inherit layout; binDir = "${pkgs.cni-plugins}/bin"; confDir = "/etc/cni/net.d"; })
      ];

      environment.extraInit = units.exportUnset (units.containerdVars {
        address = cfg.setAddress;
        namespace = cfg.setNamespace;
        snapshotter = cfg.setSnapshotter;
      });

      systemd.services.containerd.path = cfg.path;

      warnings = lib.optional ((cfg.configFile or null) != null && integrationsOn != [ ])
        ("virtualisation.containerd.configFile is set, so NixOS does not write "
          + "virtualisation.containerd.settings, and what ${lib.concatStringsSep ", " integrationsOn} "
          + "adds there is not in containerd's config: put it in ${toString cfg.configFile} "
          + "yourself, or unset configFile.");
    }
    (lib.mkIf cfg.nixSnapshotterIntegration {
      assertions = [{
        # containerd 1.6 has no Mount.target: Nix store bind mounts would land on the
        # container's root instead of at their own place.
        assertion = lib.versionAtLeast (lib.getVersion package) "1.7";
        message = "virtualisation.containerd.nixSnapshotterIntegration needs containerd 1.7 or "
          + "newer; this system has containerd ${lib.getVersion package}. containerd 1.6 is "
          + "end-of-life: use nixpkgs 23.11 or newer (or overlay a newer pkgs.containerd).";
      }];
      virtualisation.containerd = {
        setSnapshotter = lib.mkDefault "nix";
        settings = settingsLib.nixSnapshotter {
          inherit layout;
          address = snapshotterAddress;
          root = snapshotter.root or "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
          platform = settingsLib.platformOf pkgs.stdenv.hostPlatform.system;
        };
      };
    })
    (lib.mkIf cfg.k3sIntegration {
      virtualisation.containerd = {
        setNamespace = lib.mkDefault "k8s.io";
        settings = settingsLib.k3s {
          inherit layout;
          cniBinDir = "${pkgs.buildEnv {
            name = "k3s-cni-plugins";
            paths = [ pkgs.cni-plugins pkgs.cni-plugin-flannel ];
          }}/bin";
        };
      };
      services.k3s.moreFlags = [ "--container-runtime-endpoint unix://${socket}" ];
    })
    (lib.mkIf (cfg.k3sIntegration && cfg.nixSnapshotterIntegration && imageServiceOn) {
      # kubelet resolves nix:0/nix/store/... image references through nix-snapshotter.
      services.k3s.moreFlags = [ "--image-service-endpoint unix://${snapshotterAddress}" ];
    })
    (lib.mkIf cfg.gVisorIntegration {
      virtualisation.containerd = {
        path = [ pkgs.gvisor ];
        settings = settingsLib.gVisor { inherit layout; };
      };
    })
  ]);
}
