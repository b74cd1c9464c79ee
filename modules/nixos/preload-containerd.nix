# services.preload-containerd: loads image archives into containerd at boot, one
# target per containerd socket and namespace.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.preload-containerd;
  script = import ../../nix/preload-script.nix {
    inherit lib;
    inherit (pkgs) writeShellScriptBin;
    package = config.services.nix-snapshotter.package or pkgs.nix-snapshotter;
    inherit (cfg) targets;
  };
in
{
  imports = [ ../common/preload-containerd.nix ];

  config = lib.mkIf (cfg.enable && cfg.targets != [ ]) {
    systemd.services.preload-containerd = {
      description = "Load image archives into containerd";
      wantedBy = [ "multi-user.target" ];
      wants = [ "containerd.service" "nix-snapshotter.service" ];
      after = [ "containerd.service" "nix-snapshotter.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        # containerd or nix-snapshotter may not listen yet.
        Restart = "on-failure";
        RestartSec = "1s";
        ExecStart = "${script}/bin/preload-containerd";
      };
    };
  };
}
