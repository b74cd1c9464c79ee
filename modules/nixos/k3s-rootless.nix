# services.k3s.rootless on NixOS: k3s server --rootless as a user unit, with the cgroup
# delegation and IP forwarding it needs.
{ config, lib, ... }:
let
  cfg = config.services.k3s.rootless;
  units = import ../../nix/units.nix { inherit lib; };
in
{
  imports = [ ../common/k3s-rootless.nix ];

  config = lib.mkIf cfg.enable {
    systemd.user.services.k3s = lib.mkMerge [
      (units.toNixOS cfg.unit)
      { description = "k3s, lightweight Kubernetes (rootless)"; }
    ];

    environment.extraInit =
      lib.optionalString cfg.setEmbeddedContainerd (units.exportUnset {
        CONTAINERD_ADDRESS = "$XDG_RUNTIME_DIR/k3s/containerd/containerd.sock";
        CONTAINERD_NAMESPACE = "k8s.io";
        CONTAINERD_SNAPSHOTTER = cfg.snapshotter;
        ROOTLESSKIT_STATE_DIR = "$HOME/.rancher/k3s/rootless";
      })
      + lib.optionalString cfg.setKubeConfig (units.exportUnset {
        KUBECONFIG = "$HOME/.kube/k3s.yaml";
      });

    # Rootless Kubernetes needs the cpu, cpuset, io, memory and pids controllers.
    systemd.services."user@".serviceConfig.Delegate = "memory pids cpu cpuset io";
    boot.kernel.sysctl."net.ipv4.ip_forward" = 1;
  };
}
