# services.preload-containerd.rootless: loads image archives into the user's rootless
# containerd when the user's services start (NixOS and Home Manager share this file).
{ config, lib, pkgs, ... }:
let
  cfg = config.services.preload-containerd.rootless;
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };
  script = import ../../nix/preload-script.nix {
    inherit lib;
    inherit (pkgs) writeShellScriptBin;
    package = pkgs.nix-snapshotter;
    inherit (cfg) targets;
  };
in
{
  imports = [ ./preload-containerd.nix ];

  options.services.preload-containerd.rootless = {
    inherit (opts.preload) enable;
    targets = opts.preload.targets // {
      example = lib.literalExpression ''
        [ { archives = [ image ]; address = "$XDG_RUNTIME_DIR/containerd/containerd.sock"; } ]
      '';
    };

    unit = lib.mkOption {
      type = lib.types.attrs;
      internal = true;
      readOnly = true;
      description = "The preload-containerd user unit in Home Manager's shape.";
      default = {
        Unit = {
          Description = "Load image archives into containerd (rootless)";
          Wants = [ "containerd.service" "nix-snapshotter.service" ];
          After = [ "containerd.service" "nix-snapshotter.service" ];
        };
        Service = {
          Type = "oneshot";
          RemainAfterExit = true;
          # containerd or nix-snapshotter may not listen yet.
          Restart = "on-failure";
          RestartSec = "1s";
          ExecStart = "${script}/bin/preload-containerd";
        };
        Install.WantedBy = [ "default.target" ];
      };
    };
  };
}
