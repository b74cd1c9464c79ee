# A NixOS VM with rootless containerd and nix-snapshotter running as systemd user
# services of the user "alice" (auto login, no password):
#   nix run .#vm-rootless
#   nerdctl run --rm --net none --snapshotter nix localhost/hello:latest
{ config, lib, pkgs, modulesPath, ... }:

let
  examples = import ../nix/examples.nix { inherit pkgs; };
in
{
  imports = [
    (modulesPath + "/virtualisation/qemu-vm.nix")
    ../modules/nixos/nix-snapshotter-rootless.nix
  ];

  networking.hostName = "nix-snapshotter-rootless";
  system.stateVersion = "24.05";

  virtualisation = {
    memorySize = 2048;
    cores = 2;
    diskSize = 4096;
    graphics = false;
  };

  services.nix-snapshotter.rootless = {
    enable = true;
    preloadContainerdImages = [ examples.hello examples.redisNamed ];
  };

  users.users.alice = {
    isNormalUser = true;
    initialHashedPassword = "";
    extraGroups = [ "wheel" ];
    # rootlesskit maps these subordinate ids into the container's user namespace.
    autoSubUidGidRange = true;
    # Start the user's services at boot, before anyone logs in.
    linger = true;
  };
  services.getty.autologinUser = "alice";
  security.sudo.wheelNeedsPassword = false;

  environment.systemPackages = [ pkgs.nerdctl pkgs.redis ];
  nix.settings.experimental-features = [ "nix-command" "flakes" ];
}
