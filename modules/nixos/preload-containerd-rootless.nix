# services.preload-containerd.rootless on NixOS: a user unit loading image archives
# into each user's rootless containerd.
{ config, lib, ... }:
let
  cfg = config.services.preload-containerd.rootless;
  units = import ../../nix/units.nix { inherit lib; };
in
{
  imports = [ ../common/preload-containerd-rootless.nix ];

  config = lib.mkIf (cfg.enable && cfg.targets != [ ]) {
    systemd.user.services.preload-containerd = lib.mkMerge [
      (units.toNixOS cfg.unit)
      { description = "Load image archives into containerd (rootless)"; }
    ];
  };
}
