# virtualisation.containerd.rootless: containerd for one user inside rootlesskit's
# namespaces (NixOS and Home Manager share this file; modules/{nixos,home} add the
# user unit and the session variables). Layout: see nix/rootless.nix.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types literalExpression;

  cfg = config.virtualisation.containerd.rootless;
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };
  settingsLib = import ../../nix/containerd-settings.nix { inherit lib; };
  layout = settingsLib.layoutFor cfg.package;

  configFile = opts.settingsFormat.generate "containerd-rootless.toml" cfg.settings;

  scripts = import ../../nix/rootless.nix
    {
      inherit lib;
      inherit (pkgs) writeShellScript writeShellScriptBin rootlesskit slirp4netns util-linux
        fuse-overlayfs coreutils runc;
    }
    {
      containerd = cfg.package;
      extraPath = cfg.path;
      inherit (cfg) bindMounts args;
    };

  # The nix-snapshotter socket and root as containerd sees them (inside the namespace).
  snapshotterSettings = config.services.nix-snapshotter.rootless.settings or { };
in
{
  imports = [ ./containerd.nix ];

  options.virtualisation.containerd.rootless = {
    inherit (opts.containerd)
      nixSnapshotterIntegration gVisorIntegration defaultRuntime path
      setAddress setNamespace setSnapshotter;

    enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Run containerd without root, as a systemd user service inside rootlesskit.
        Clients reach it at $XDG_RUNTIME_DIR/containerd/containerd.sock (setAddress
        exports CONTAINERD_ADDRESS for login shells).
      '';
    };

    package = lib.mkPackageOption pkgs "containerd" { };

    settings = mkOption {
      type = opts.settingsFormat.type;
      default = { };
      description = ''
        containerd's configuration (TOML). Paths are the ones inside the rootless
        namespaces. The module writes config version 3 for containerd 2.x and 2 for 1.7.
      '';
    };

    args = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Extra arguments of containerd (--name value); the module sets config.";
    };

    bindMounts = mkOption {
      type = types.attrsOf (types.submodule {
        options.mountPoint = mkOption {
          type = types.str;
          example = "/run/containerd";
          description = "Where the source is mounted inside the rootless mount namespace.";
        };
      });
      example = literalExpression ''{ "$XDG_RUNTIME_DIR/containerd".mountPoint = "/run/containerd"; }'';
      description = ''
        Directories of the user (names; shell variables expand at start) bind-mounted
        inside the rootless mount namespace, so the daemons' default paths there are
        the user's directories outside.
      '';
    };

    nsenter = mkOption {
      type = types.package;
      description = ''
        A package with bin/containerd-nsenter, which runs a command inside rootless
        containerd's user, mount and network namespaces (nix-snapshotter uses it).
      '';
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [{
        # containerd 1.6 has no Mount.target: Nix store bind mounts would land on the
        # container's root instead of at their own place.
        assertion = !cfg.nixSnapshotterIntegration || lib.versionAtLeast (lib.getVersion cfg.package) "1.7";
        message = "virtualisation.containerd.rootless.nixSnapshotterIntegration needs containerd 1.7 "
          + "or newer; virtualisation.containerd.rootless.package is ${lib.getVersion cfg.package}.";
      }];

      virtualisation.containerd.rootless = {
        nsenter = scripts.nsenter;
        args.config = "${configFile}";
        setAddress = lib.mkDefault "$XDG_RUNTIME_DIR/containerd/containerd.sock";

        settings = lib.mkMerge [
          { version = lib.mkDefault (settingsLib.versionOf layout); }
          (settingsLib.base { inherit layout; inherit (cfg) defaultRuntime; })
          (settingsLib.cni { inherit layout; binDir = "${pkgs.cni-plugins}/bin"; confDir = "/etc/cni/net.d"; })
          (settingsLib.rootlessCri { inherit layout; })
        ];

        bindMounts = {
          "$XDG_RUNTIME_DIR/containerd".mountPoint = "/run/containerd";
          "$XDG_DATA_HOME/containerd".mountPoint = "/var/lib/containerd";
          "$XDG_DATA_HOME/cni".mountPoint = "/var/lib/cni";
          "$XDG_CONFIG_HOME/cni".mountPoint = "/etc/cni";
        };
      };
    }
    (lib.mkIf cfg.nixSnapshotterIntegration {
      virtualisation.containerd.rootless = {
        setSnapshotter = lib.mkDefault "nix";
        settings = settingsLib.nixSnapshotter {
          inherit layout;
          address = snapshotterSettings.address or "/run/nix-snapshotter/nix-snapshotter.sock";
          # $XDG_DATA_HOME/containerd/io.containerd.snapshotter.v1.nix seen from inside.
          root = "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
          platform = settingsLib.platformOf pkgs.stdenv.hostPlatform.system;
        };
        bindMounts = {
          "$XDG_RUNTIME_DIR/nix-snapshotter".mountPoint = "/run/nix-snapshotter";
          # No bind over gcroots/auto: nix-snapshotter registers its GC roots through the
          # Nix daemon (nix-daemon --stdio under NIX_REMOTE=daemon), which writes it as root.
        };
      };
    })
    (lib.mkIf cfg.gVisorIntegration {
      virtualisation.containerd.rootless = {
        # runsc cannot manage cgroups without root.
        path = [
          (pkgs.writeShellScriptBin "runsc" ''exec ${pkgs.gvisor}/bin/runsc --ignore-cgroups "$@"'')
          pkgs.gvisor
        ];
        settings = settingsLib.gVisor { inherit layout; };
      };
    })
  ]);

  # Read by modules/{nixos,home}/containerd-rootless.nix.
  options.virtualisation.containerd.rootless.unit = mkOption {
    type = types.attrs;
    internal = true;
    readOnly = true;
    description = "The containerd user unit in Home Manager's shape.";
    default = {
      Unit = {
        Description = "containerd, container runtime (rootless)";
        # rootlesskit refuses to run as root.
        ConditionUser = "!root";
        StartLimitBurst = 16;
        StartLimitIntervalSec = "120s";
      };
      Service = {
        Type = "notify";
        # containerd inside the namespaces notifies, not the main process.
        NotifyAccess = "all";
        ExecStart = "${scripts.containerd}";
        ExecReload = "${pkgs.coreutils}/bin/kill -s HUP $MAINPID";
        Delegate = "yes";
        # Containers live in rootlesskit's namespaces: they go when it goes.
        KillMode = "mixed";
        Restart = "always";
        RestartSec = "10";
        LimitNOFILE = "infinity";
        LimitNPROC = "infinity";
        LimitCORE = "infinity";
        TasksMax = "infinity";
      };
      Install.WantedBy = [ "default.target" ];
    };
  };
}
