# `nix run .#vm`: the README's demo, rootful. Log in as root (password root), then
#   nerdctl run ghcr.io/pdtpartners/hello          # preloaded, runs on snapshotter nix
#   kubectl apply -f /etc/kubernetes/redis/        # a pod from a nix:0 image
#   kubectl get pods -w                            # wait for Running
#   redis-cli -p 30000 ping                        # PONG, through the NodePort
# containerd runs nix-snapshotter as its `nix` proxy snapshotter; k3s uses that
# containerd (k3sIntegration) with nix-snapshotter as kubelet's image service, and the
# shell's CONTAINERD_ADDRESS/NAMESPACE/SNAPSHOTTER make nerdctl use them with no flags.
{ lib, pkgs, config, ... }:

let
  examples = import ../nix/examples.nix { inherit pkgs; };
  # The images of the README's usage section.
  archives = with examples; [ image-hello image-redis image-redisWithShell ];
in
{
  imports = [
    ./common.nix
    ./sandbox-image.nix
  ];

  networking.hostName = "nix-snapshotter";

  users.users.root = {
    initialHashedPassword = lib.mkForce null;
    password = "root";
  };

  services.k3s = {
    enable = true;
    setKubeConfig = true;
  };

  virtualisation.containerd = {
    enable = true;
    k3sIntegration = true;
    nixSnapshotterIntegration = true;
  };

  services.nix-snapshotter.enable = true;

  # Into the namespace nerdctl uses (setNamespace: "k8s.io" with k3sIntegration) and
  # into "default" for `ctr`.
  services.preload-containerd = {
    enable = true;
    targets = [
      { inherit archives; namespace = config.virtualisation.containerd.setNamespace; }
      { inherit archives; namespace = "default"; }
    ];
  };
}
