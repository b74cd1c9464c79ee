# services.k3s.rootless: k3s server --rootless as a user service (NixOS and Home
# Manager share this file). Its embedded containerd cannot use this nix-snapshotter
# (a separate process, not compiled into k3s): snapshotter = "nix" needs a k3s built
# with the nix snapshotter, and the modules warn about it. See docs/nixos.md.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.k3s.rootless;
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };
in
{
  imports = [ ./k3s.nix ];

  options.services.k3s.rootless = {
    inherit (opts.k3s) setEmbeddedContainerd setKubeConfig snapshotter;

    enable = lib.mkEnableOption "k3s without root (k3s server --rootless)";

    package = lib.mkPackageOption pkgs "k3s" { };

    extraFlags = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--disable traefik" "--cluster-cidr 10.24.0.0/16" ];
      description = "Extra arguments of k3s server.";
    };

    path = mkOption {
      type = types.listOf types.path;
      description = "Packages on the PATH of the k3s service.";
    };

    environmentFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "An EnvironmentFile for the k3s service (see systemd.exec(5)).";
    };

    configPath = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "k3s' YAML configuration file (k3s --config).";
    };

    unit = mkOption {
      type = types.attrs;
      internal = true;
      readOnly = true;
      description = "The k3s user unit in Home Manager's shape.";
      default = {
        Unit = {
          Description = "k3s, lightweight Kubernetes (rootless)";
          StartLimitBurst = 3;
          StartLimitIntervalSec = "120s";
        };
        Service = {
          Type = "simple";
          Delegate = "yes";
          Restart = "always";
          RestartSec = "2";
          Environment = "PATH=${lib.makeBinPath cfg.path}";
          ExecStart = lib.concatStringsSep " " ([ "${cfg.package}/bin/k3s" "server" "--rootless" ]
            ++ lib.optionals (cfg.configPath != null) [ "--config" "${cfg.configPath}" ]
            ++ map lib.escapeShellArg cfg.extraFlags);
          ExecReload = "${pkgs.coreutils}/bin/kill -s HUP $MAINPID";
          KillMode = "mixed";
          LimitNOFILE = "infinity";
          LimitNPROC = "infinity";
          LimitCORE = "infinity";
          TasksMax = "infinity";
        } // lib.optionalAttrs (cfg.environmentFile != null) {
          EnvironmentFile = "${cfg.environmentFile}";
        };
        Install.WantedBy = [ "default.target" ];
      };
    };
  };

  config = lib.mkIf cfg.enable {
    warnings = lib.optional (cfg.snapshotter == "nix") ''
      services.k3s.rootless.snapshotter = "nix" needs a k3s with the nix snapshotter
      compiled in; this nix-snapshotter runs as its own process and cannot be. Use
      virtualisation.containerd.rootless with nixSnapshotterIntegration for Nix images.'';
    services.k3s.rootless = {
      path = [ pkgs.slirp4netns pkgs.nerdctl "/run/wrappers" ]
        ++ lib.optional (cfg.snapshotter == "nix") pkgs.nix;
      extraFlags = [ "--snapshotter" cfg.snapshotter ];
    };
  };
}
