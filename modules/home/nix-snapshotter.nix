# Home Manager module: rootless containerd and nix-snapshotter as systemd user
# services of one user, on NixOS or any other Linux with systemd.
#
#   services.nix-snapshotter = {
#     enable = true;
#     preloadContainerdImages = [ ... ];
#   };
#
# The host must provide the setuid newuidmap/newgidmap (Debian: package uidmap) and
# subordinate ids for the user (/etc/subuid, /etc/subgid), and a Nix daemon.
# Layout and namespaces: see nix/rootless.nix; docs/home-manager.md.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.nix-snapshotter;

  settingsFormat = pkgs.formats.toml { };
  snapshotterConfig = settingsFormat.generate "nix-snapshotter-rootless.toml" cfg.settings;
  containerdConfig = settingsFormat.generate "containerd-rootless.toml" cfg.containerdSettings;

  nixPackage =
    if (config.nix.package or null) != null then config.nix.package else pkgs.nix;

  scripts = import ../../nix/rootless.nix
    {
      inherit lib;
      inherit (pkgs) writeShellScript rootlesskit slirp4netns runc util-linux fuse-overlayfs coreutils;
      containerd = cfg.containerdPackage;
      nix = nixPackage;
    }
    {
      inherit (cfg) package;
      inherit snapshotterConfig containerdConfig;
      setRoot = !(cfg.settings ? root);
    };

  rootlessDefaults = import ../../nix/rootless-defaults.nix { inherit lib cfg scripts; };

  preloadScript = import ../../nix/preload-script.nix {
    inherit lib;
    inherit (pkgs) writeShellScript;
    inherit (cfg) package;
    images = cfg.preloadContainerdImages;
    namespaces = cfg.preloadNamespaces;
    addressShell = scripts.containerdAddressShell;
  };
in
{
  options.services.nix-snapshotter =
    import ../../nix/module-options.nix { inherit lib pkgs; what = " (rootless)"; } // {
      containerdPackage = lib.mkOption {
        type = lib.types.package;
        default = pkgs.containerd;
        defaultText = lib.literalExpression "pkgs.containerd";
        description = "containerd to run rootless (1.7 or newer).";
      };
      containerdSettings = lib.mkOption {
        type = settingsFormat.type;
        default = { };
        description = ''
          Configuration of the rootless containerd (TOML, config version 2). The
          module adds the "nix" proxy plugin and, with setContainerdSnapshotter, the
          CRI snapshotter; paths are the ones inside the rootless namespaces.
        '';
      };
    };

  config = lib.mkIf cfg.enable {
    assertions = [{
      assertion = lib.versionAtLeast (lib.getVersion cfg.containerdPackage) "1.7";
      message = "services.nix-snapshotter needs containerd 1.7 or newer (Mount.target); "
        + "services.nix-snapshotter.containerdPackage is "
        + "${lib.getVersion cfg.containerdPackage}.";
    }];

    services.nix-snapshotter = {
      inherit (rootlessDefaults) settings containerdSettings imageServiceEndpoint;
    };

    home.packages = [ cfg.package cfg.containerdPackage ];
    home.sessionVariables.CONTAINERD_ADDRESS = "$XDG_RUNTIME_DIR/containerd/containerd.sock";

    systemd.user.services.containerd = {
      Unit.Description = "containerd (rootless, for nix-snapshotter)";
      Service = rootlessDefaults.containerdService;
      Install.WantedBy = [ "default.target" ];
    };

    systemd.user.services.nix-snapshotter = {
      Unit = {
        Description = "nix-snapshotter (rootless)";
        BindsTo = [ "containerd.service" ];
        After = [ "containerd.service" ];
        X-Restart-Triggers = [ "${snapshotterConfig}" ];
      };
      Service = {
        Type = "notify";
        NotifyAccess = "all";
        ExecStart = "${scripts.snapshotter}";
        Restart = "always";
        RestartSec = "2s";
      };
      Install.WantedBy = [ "default.target" ];
    };

    systemd.user.services.nix-snapshotter-preload-images =
      lib.mkIf (cfg.preloadContainerdImages != [ ]) {
        Unit = {
          Description = "Load Nix images into rootless containerd";
          Requires = [ "nix-snapshotter.service" ];
          After = [ "nix-snapshotter.service" ];
        };
        Service = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${preloadScript}";
        };
        Install.WantedBy = [ "default.target" ];
      };
  };
}
