# Stands for the machine's generated hardware-configuration.nix, which the README's
# NixOS snippets import.
{ lib, ... }: {
  nixpkgs.system = lib.mkDefault "x86_64-linux";
}
