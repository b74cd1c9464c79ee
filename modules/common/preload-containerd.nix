# services.preload-containerd.{enable,targets}: declared here for NixOS
# (../nixos/preload-containerd.nix gives them effect) and Home Manager (declared only,
# as in the original's modules; Home Manager uses .rootless).
{ lib, pkgs, ... }:
let
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };
in
{
  options.services.preload-containerd = { inherit (opts.preload) enable targets; };
}
