# `import nixpkgs { system; overlays; }` for the stand-in nixpkgs flake input
# (tests/nix/modules.nix): the stand-in pkgs with nixpkgs' real lib from
# $NIXSNAP_NIXPKGS_LIB.
{ system ? "x86_64-linux", overlays ? [ ], ... }:
import ../pkgs.nix {
  libPath = builtins.getEnv "NIXSNAP_NIXPKGS_LIB";
  inherit system overlays;
}
