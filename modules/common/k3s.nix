# services.k3s.{snapshotter,setKubeConfig,setEmbeddedContainerd}: declared here for NixOS
# (../nixos/k3s.nix gives them effect) and Home Manager (declared only, as in the
# original's modules; Home Manager uses .rootless).
{ lib, pkgs, ... }:
let
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };
in
{
  options.services.k3s = { inherit (opts.k3s) setEmbeddedContainerd setKubeConfig snapshotter; };
}
