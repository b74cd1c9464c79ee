# NixOS module: rootless containerd and nix-snapshotter as systemd user services, for
# every user who starts them (`systemctl --user start nix-snapshotter`, or enabled by
# default through default.target).
#
#   services.nix-snapshotter.rootless = {
#     enable = true;
#     preloadContainerdImages = [ ... ];
#   };
#   users.users.alice.autoSubUidGidRange = true;   # rootlesskit needs subordinate ids
#
# Layout and namespaces: see nix/rootless.nix. Mounts use fuse-overlayfs
# (settings.fuse_overlayfs = true). Users talk to containerd at
# $XDG_RUNTIME_DIR/containerd/containerd.sock; nerdctl finds it by itself.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.nix-snapshotter.rootless;

  settingsFormat = pkgs.formats.toml { };
  snapshotterConfig = settingsFormat.generate "nix-snapshotter-rootless.toml" cfg.settings;
  containerdConfig = settingsFormat.generate "containerd-rootless.toml" cfg.containerdSettings;

  containerdPackage = config.virtualisation.containerd.package or pkgs.containerd;

  scripts = import ../../nix/rootless.nix
    {
      inherit lib;
      inherit (pkgs) writeShellScript rootlesskit slirp4netns runc util-linux fuse-overlayfs coreutils;
      containerd = containerdPackage;
      nix = config.nix.package;
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
  options.services.nix-snapshotter.rootless =
    import ../../nix/module-options.nix { inherit lib pkgs; what = " (rootless)"; } // {
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
      assertion = lib.versionAtLeast (lib.getVersion containerdPackage) "1.7";
      message = "services.nix-snapshotter.rootless needs containerd 1.7 or newer "
        + "(Mount.target); this system has containerd ${lib.getVersion containerdPackage}.";
    }];

    services.nix-snapshotter.rootless = {
      inherit (rootlessDefaults) settings containerdSettings imageServiceEndpoint;
    };

    # rootlesskit uses the setuid newuidmap/newgidmap NixOS provides; subordinate ids
    # come from users.users.<name>.autoSubUidGidRange (or subUidRanges/subGidRanges).
    environment.systemPackages = [ cfg.package containerdPackage pkgs.rootlesskit ];

    systemd.user.services.containerd = {
      description = "containerd (rootless, for nix-snapshotter)";
      wantedBy = [ "default.target" ];
      serviceConfig = rootlessDefaults.containerdService;
    };

    systemd.user.services.nix-snapshotter = {
      description = "nix-snapshotter (rootless)";
      wantedBy = [ "default.target" ];
      bindsTo = [ "containerd.service" ];
      after = [ "containerd.service" ];
      restartTriggers = [ snapshotterConfig ];
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "all";
        ExecStart = "${scripts.snapshotter}";
        Restart = "always";
        RestartSec = "2s";
      };
    };

    systemd.user.services.nix-snapshotter-preload-images =
      lib.mkIf (cfg.preloadContainerdImages != [ ]) {
        description = "Load Nix images into rootless containerd";
        wantedBy = [ "default.target" ];
        requires = [ "nix-snapshotter.service" ];
        after = [ "nix-snapshotter.service" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${preloadScript}";
        };
      };
  };
}
