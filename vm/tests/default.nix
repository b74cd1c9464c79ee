# The VM tests (flake checks).
#   pkgs: nixpkgs for a Linux system with KVM, with or without the overlay.
{ pkgs }:

{
  nerdctl = import ./nerdctl.nix { inherit pkgs; };
  kubernetes-redis = import ./kubernetes-redis.nix { inherit pkgs; };
}
