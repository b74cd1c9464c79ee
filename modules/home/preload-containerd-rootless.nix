# services.preload-containerd.rootless for Home Manager.
{ config, lib, ... }:
let
  cfg = config.services.preload-containerd.rootless;
in
{
  imports = [ ../common/preload-containerd-rootless.nix ];

  config = lib.mkIf (cfg.enable && cfg.targets != [ ]) {
    systemd.user.services.preload-containerd = cfg.unit;
  };
}
