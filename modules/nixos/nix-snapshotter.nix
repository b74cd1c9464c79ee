# NixOS module: nix-snapshotter as a system service next to the system containerd.
#
#   services.nix-snapshotter = {
#     enable = true;
#     setContainerdSnapshotter = true;   # CRI (Kubernetes) unpacks with snapshotter "nix"
#     preloadContainerdImages = [ (pkgs.nix-snapshotter.buildImage { ... }) ];
#   };
#
# It writes /etc/nix-snapshotter/config.toml from `settings`, runs the daemon
# (Type=notify), enables containerd with the "nix" proxy plugin and, when asked, sets
# the CRI snapshotter. Kubelet: services.nix-snapshotter.imageServiceEndpoint is the
# value for --image-service-endpoint (see docs/nixos.md).
{ config, lib, pkgs, ... }:

let
  cfg = config.services.nix-snapshotter;

  settingsFormat = pkgs.formats.toml { };
  configFile = settingsFormat.generate "nix-snapshotter.toml" cfg.settings;

  # The containerd the system runs: newer nixpkgs have an option for it.
  containerdPackage = config.virtualisation.containerd.package or pkgs.containerd;

  preloadScript = import ../../nix/preload-script.nix {
    inherit lib;
    inherit (pkgs) writeShellScript;
    inherit (cfg) package;
    images = cfg.preloadContainerdImages;
    namespaces = cfg.preloadNamespaces;
    addressShell = lib.escapeShellArg cfg.settings.image_service.containerd_address;
  };
in
{
  options.services.nix-snapshotter = import ../../nix/module-options.nix { inherit lib pkgs; } // {
    setKubeletImageServiceEndpoint = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Add `--image-service-endpoint` for nix-snapshotter to
        services.kubernetes.kubelet.extraOpts. (For k3s add the same flag to
        services.k3s.extraFlags yourself, with --container-runtime-endpoint.)
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        # containerd 1.6 has no Mount.target: it would mount every store path onto
        # the container's root instead of at its own place.
        assertion = lib.versionAtLeast (lib.getVersion containerdPackage) "1.7";
        message = "services.nix-snapshotter needs containerd 1.7 or newer (it relies on "
          + "Mount.target for the Nix store bind mounts); this system has containerd "
          + "${lib.getVersion containerdPackage}. containerd 1.6 is end-of-life: use "
          + "nixpkgs 23.11 or newer, or set virtualisation.containerd.package.";
      }
      {
        assertion = config.virtualisation.containerd.enable;
        message = "services.nix-snapshotter needs virtualisation.containerd.enable = true.";
      }
    ];

    services.nix-snapshotter = {
      settings = {
        address = lib.mkDefault "/run/nix-snapshotter/nix-snapshotter.sock";
        root = lib.mkDefault "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
        image_service = {
          enable = lib.mkDefault true;
          containerd_address = lib.mkDefault "/run/containerd/containerd.sock";
        };
      };
      imageServiceEndpoint = "unix://${cfg.settings.address}";
    };

    environment.etc."nix-snapshotter/config.toml".source = configFile;
    environment.systemPackages = [ cfg.package ];

    virtualisation.containerd = {
      enable = lib.mkDefault true;
      settings = import ../../nix/containerd-settings.nix {
        inherit (cfg.settings) address;
        setSnapshotter = cfg.setContainerdSnapshotter;
      };
    };

    services.kubernetes.kubelet.extraOpts = lib.mkIf cfg.setKubeletImageServiceEndpoint
      "--image-service-endpoint=${cfg.imageServiceEndpoint}";

    systemd.services.nix-snapshotter = {
      description = "nix-snapshotter: containerd snapshotter for Nix images";
      wantedBy = [ "multi-user.target" ];
      wants = [ "containerd.service" ];
      after = [ "containerd.service" "nix-daemon.socket" ];
      restartTriggers = [ configFile ];
      # nix-store realises store paths and registers GC roots.
      path = [ config.nix.package pkgs.util-linux ]
        ++ lib.optional (cfg.settings.fuse_overlayfs or false) pkgs.fuse-overlayfs;
      serviceConfig = {
        Type = "notify";
        ExecStart = "${cfg.package}/bin/nix-snapshotter --config ${configFile}";
        Restart = "always";
        RestartSec = "2s";
        RuntimeDirectory = "nix-snapshotter";
        RuntimeDirectoryPreserve = "yes";
        LimitNOFILE = 1048576;
        # Mounts made for containerd must stay visible to it: no private namespaces.
        PrivateMounts = false;
      };
    };

    systemd.services.nix-snapshotter-preload-images = lib.mkIf (cfg.preloadContainerdImages != [ ]) {
      description = "Load Nix images into containerd for nix-snapshotter";
      wantedBy = [ "multi-user.target" ];
      requires = [ "containerd.service" "nix-snapshotter.service" ];
      after = [ "containerd.service" "nix-snapshotter.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${preloadScript}";
      };
    };
  };
}
