# services.nix-snapshotter: nix-snapshotter as a system service. containerd uses it
# when virtualisation.containerd.nixSnapshotterIntegration is on (./containerd.nix):
#
#   virtualisation.containerd = { enable = true; nixSnapshotterIntegration = true; };
#   services.nix-snapshotter.enable = true;
#
# Kubelet: services.nix-snapshotter.imageServiceEndpoint is the value of
# --image-service-endpoint (setKubeletImageServiceEndpoint writes it for
# services.kubernetes; k3sIntegration for k3s). See docs/nixos.md.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.nix-snapshotter;
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };
in
{
  imports = [
    ./containerd.nix
    (lib.mkRenamedOptionModule
      [ "services" "nix-snapshotter" "setContainerdSnapshotter" ]
      [ "virtualisation" "containerd" "nixSnapshotterIntegration" ])
    (lib.mkRemovedOptionModule [ "services" "nix-snapshotter" "preloadContainerdImages" ]
      "Use services.preload-containerd = { enable = true; targets = [ { archives = [ ... ]; } ]; }.")
    (lib.mkRemovedOptionModule [ "services" "nix-snapshotter" "preloadNamespaces" ]
      "Use services.preload-containerd.targets, one target per namespace.")
  ];

  options.services.nix-snapshotter = opts.snapshotter // {
    enable = lib.mkEnableOption "nix-snapshotter, a containerd snapshotter that runs Nix images";

    setKubeletImageServiceEndpoint = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Give services.kubernetes' kubelet `--image-service-endpoint` for
        nix-snapshotter, so pods can use nix:0/nix/store/... images (for k3s:
        virtualisation.containerd.k3sIntegration).
      '';
    };

    imageServiceEndpoint = lib.mkOption {
      type = lib.types.str;
      readOnly = true;
      default = "unix://${cfg.settings.address or "/run/nix-snapshotter/nix-snapshotter.sock"}";
      defaultText = lib.literalExpression ''"unix://''${settings.address}"'';
      description = "nix-snapshotter's CRI image service endpoint, for kubelet.";
    };
  };

  config = lib.mkIf cfg.enable {
    warnings = lib.optional
      (config.virtualisation.containerd.enable && !config.virtualisation.containerd.nixSnapshotterIntegration) ''
      services.nix-snapshotter is enabled but containerd does not use it: set
      virtualisation.containerd.nixSnapshotterIntegration = true.'';

    assertions = [{
      assertion = cfg.setKubeletImageServiceEndpoint -> (cfg.settings.image_service.enable or true);
      message = "services.nix-snapshotter.setKubeletImageServiceEndpoint needs "
        + "services.nix-snapshotter.settings.image_service.enable = true.";
    }];

    services.nix-snapshotter = {
      settings = {
        address = lib.mkDefault "/run/nix-snapshotter/nix-snapshotter.sock";
        root = lib.mkDefault "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
        image_service = {
          enable = lib.mkDefault true;
          containerd_address = lib.mkDefault "/run/containerd/containerd.sock";
        };
      };
      configFile = lib.mkOptionDefault (opts.settingsFormat.generate "config.toml" cfg.settings);
    };

    environment.etc."nix-snapshotter/config.toml".source = cfg.configFile;
    environment.systemPackages = [ cfg.package ];

    services.kubernetes.kubelet.extraOpts = lib.mkIf cfg.setKubeletImageServiceEndpoint
      "--image-service-endpoint=${cfg.imageServiceEndpoint}";

    systemd.services.nix-snapshotter = {
      description = "nix-snapshotter, containerd snapshotter for Nix images";
      wantedBy = [ "multi-user.target" ];
      wants = [ "containerd.service" ];
      after = [ "network.target" "containerd.service" "nix-daemon.socket" ];
      partOf = [ "containerd.service" ];
      restartTriggers = [ cfg.configFile ];
      # nix-store realises store paths and registers GC roots; mount helpers.
      path = cfg.path ++ [ pkgs.util-linux ]
        ++ lib.optional (cfg.settings.fuse_overlayfs or false) pkgs.fuse-overlayfs;
      serviceConfig = {
        Type = "notify";
        ExecStart = lib.concatStringsSep " " ([ "${cfg.package}/bin/nix-snapshotter" "--config" "${cfg.configFile}" ]
          ++ map lib.escapeShellArg cfg.extraFlags);
        KillMode = "mixed";
        Restart = "always";
        RestartSec = "2";
        RuntimeDirectory = "nix-snapshotter";
        RuntimeDirectoryPreserve = "yes";
        LimitNOFILE = 1048576;
        # Mounts made for containerd must stay visible to it: no private namespace.
        PrivateMounts = false;
      };
    };
  };
}
