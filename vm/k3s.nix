# k3s on the system containerd, with nix-snapshotter as kubelet's image service:
# pods may use "nix:0/nix/store/...-nix-image-NAME.tar" images (no registry).
# Used by vm/rootful.nix and vm/tests/kubernetes-redis.nix.
{ config, lib, pkgs, ... }:

let
  examples = import ../nix/examples.nix { inherit pkgs; };
  snapshotter = config.services.nix-snapshotter;
  # Where k3s unpacks its CNI plugins and writes flannel's CNI config; containerd's
  # CRI (not k3s') sets up pod networks, so it must look there.
  k3sCniBin = "/var/lib/rancher/k3s/data/current/bin";
  k3sCniConf = "/var/lib/rancher/k3s/agent/etc/cni/net.d";
in
{
  imports = [ ../modules/nixos/nix-snapshotter.nix ];

  services.nix-snapshotter = {
    enable = true;
    setContainerdSnapshotter = true;
    # The sandbox image must be in CRI's namespace before the first pod starts.
    preloadContainerdImages = [ examples.pause ];
    preloadNamespaces = [ "k8s.io" ];
  };

  virtualisation.containerd.settings.plugins."io.containerd.grpc.v1.cri" = {
    sandbox_image = "localhost/pause:latest";
    cni = {
      bin_dir = k3sCniBin;
      conf_dir = k3sCniConf;
    };
  };

  services.k3s = {
    enable = true;
    role = "server";
    extraFlags = toString [
      "--container-runtime-endpoint unix:///run/containerd/containerd.sock"
      "--image-service-endpoint ${snapshotter.imageServiceEndpoint}"
      "--disable traefik"
      "--disable servicelb"
      "--disable metrics-server"
      "--disable local-storage"
      "--write-kubeconfig-mode 0644"
    ];
  };

  # Pods start only after the sandbox image is loaded.
  systemd.services.k3s = {
    wants = [ "nix-snapshotter-preload-images.service" ];
    after = [ "nix-snapshotter-preload-images.service" ];
  };

  networking.firewall.allowedTCPPorts = [ 6443 ];
  networking.firewall.trustedInterfaces = [ "cni0" "flannel.1" ];
  environment.systemPackages = [ pkgs.k3s ];
  environment.variables.KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
}
