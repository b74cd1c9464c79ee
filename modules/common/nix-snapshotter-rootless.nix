# services.nix-snapshotter.rootless: nix-snapshotter for one user, inside rootless
# containerd's namespaces (NixOS and Home Manager share this file). It needs
# virtualisation.containerd.rootless (enable and nixSnapshotterIntegration) for
# containerd to use it.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.nix-snapshotter.rootless;
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };

  launcher = import ../../nix/rootless-snapshotter.nix { inherit lib; inherit (pkgs) writeShellScript; } {
    inherit (cfg) package configFile path extraFlags;
    inherit (config.virtualisation.containerd.rootless) nsenter;
    setRoot = !(cfg.settings ? root);
  };
in
{
  imports = [ ./containerd-rootless.nix ];

  options.services.nix-snapshotter.rootless = opts.snapshotter // {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Run nix-snapshotter for the user, next to rootless containerd
        (virtualisation.containerd.rootless, with nixSnapshotterIntegration).
      '';
    };

    unit = lib.mkOption {
      type = lib.types.attrs;
      internal = true;
      readOnly = true;
      description = "The nix-snapshotter user unit in Home Manager's shape.";
      default = {
        Unit = {
          Description = "nix-snapshotter, containerd snapshotter for Nix images (rootless)";
          After = [ "containerd.service" ];
          PartOf = [ "containerd.service" ];
          X-Restart-Triggers = [ "${cfg.configFile}" ];
        };
        Service = {
          Type = "notify";
          # nix-snapshotter is a child of nsenter's process tree.
          NotifyAccess = "all";
          ExecStart = "${launcher}";
          KillMode = "mixed";
          Restart = "always";
          RestartSec = "2";
          LimitNOFILE = 1048576;
        };
        Install.WantedBy = [ "default.target" ];
      };
    };
  };

  config = lib.mkIf cfg.enable {
    services.nix-snapshotter.rootless = {
      # Paths inside rootless containerd's namespaces (see nix/rootless.nix).
      settings = {
        address = lib.mkDefault "/run/nix-snapshotter/nix-snapshotter.sock";
        image_service = {
          enable = lib.mkDefault true;
          containerd_address = lib.mkDefault "/run/containerd/containerd.sock";
        };
      };
      configFile = lib.mkOptionDefault
        (opts.settingsFormat.generate "nix-snapshotter-rootless.toml" cfg.settings);
      path = [ pkgs.fuse-overlayfs pkgs.util-linux ];
    };
  };
}
