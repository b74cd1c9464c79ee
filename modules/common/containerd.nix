# virtualisation.containerd.{nixSnapshotterIntegration,k3sIntegration,gVisorIntegration,
# defaultRuntime,path,setAddress,setNamespace,setSnapshotter}: declared here for NixOS
# (../nixos/containerd.nix gives them effect) and Home Manager, where, as in the
# original's modules, they are declared but only the .rootless ones do anything.
{ lib, pkgs, ... }:
let
  opts = import ../../nix/module-options.nix { inherit lib pkgs; };
in
{
  options.virtualisation.containerd = opts.containerd // {
    inherit (opts) k3sIntegration;
  };
}
