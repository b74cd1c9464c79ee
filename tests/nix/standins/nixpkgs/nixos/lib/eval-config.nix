# nixos/lib/eval-config.nix of the stand-in nixpkgs tree: evaluates with the NixOS
# stand-in and keeps its arguments, so tests can see what a caller passed.
args:
let
  nixos = import ../../../nixos.nix { libPath = builtins.getEnv "NIXSNAP_NIXPKGS_LIB"; };
in
nixos.evalNixOS { inherit (args) modules; system = if args.system or null == null then "x86_64-linux" else args.system; }
// { inherit args; }
