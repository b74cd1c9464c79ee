# A NixOS VM with containerd, nix-snapshotter (rootful), nerdctl and k3s, for trying
# Nix images by hand:
#   nix run .#vm            # log in as root (no password)
#   nerdctl run --rm --net none --snapshotter nix localhost/hello:latest
#   kubectl apply -f /etc/nix-snapshotter/examples/redis.yaml && kubectl get pods -w
#   kubectl exec redis -- redis-cli ping
{ config, lib, pkgs, modulesPath, ... }:

let
  examples = import ../nix/examples.nix { inherit pkgs; };
in
{
  imports = [
    (modulesPath + "/virtualisation/qemu-vm.nix")
    ./k3s.nix
  ];

  networking.hostName = "nix-snapshotter";
  system.stateVersion = "24.05";

  virtualisation = {
    memorySize = 4096;
    cores = 2;
    diskSize = 8192;
    graphics = false;
  };

  services.nix-snapshotter = {
    # k3s.nix adds the pause image and the namespace "k8s.io"; lists concatenate, so
    # every preloaded image goes to both namespaces.
    preloadContainerdImages = [ examples.hello examples.redisNamed ];
    preloadNamespaces = [ "default" ];
  };

  # The redis pod of the README, pulled by kubelet through nix-snapshotter.
  environment.etc."nix-snapshotter/examples/redis.yaml".text = builtins.toJSON {
    apiVersion = "v1";
    kind = "Pod";
    metadata.name = "redis";
    spec.containers = [{
      name = "redis";
      image = "nix:0${examples.redis}";
      ports = [{ containerPort = 6379; }];
    }];
  };
  # nix:0 images must be valid store paths in this VM's Nix database.
  virtualisation.additionalPaths = [ examples.redis ];

  environment.systemPackages = [ pkgs.nerdctl pkgs.redis ];

  users.users.root.initialHashedPassword = "";
  services.getty.autologinUser = "root";
  nix.settings.experimental-features = [ "nix-command" "flakes" ];
}
