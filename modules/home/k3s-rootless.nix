# services.k3s.rootless for Home Manager (the host must delegate cgroup controllers to
# user services and allow IP forwarding; see docs/home-manager.md).
{ config, lib, ... }:
let
  cfg = config.services.k3s.rootless;
  units = import ../../nix/units.nix { inherit lib; };
in
{
  imports = [ ../common/k3s-rootless.nix ];

  config = lib.mkIf cfg.enable {
    systemd.user.services.k3s = cfg.unit;
    home.sessionVariablesExtra =
      lib.optionalString cfg.setEmbeddedContainerd (units.exportUnset {
        CONTAINERD_ADDRESS = "$XDG_RUNTIME_DIR/k3s/containerd/containerd.sock";
        CONTAINERD_NAMESPACE = "k8s.io";
        CONTAINERD_SNAPSHOTTER = cfg.snapshotter;
      })
      + lib.optionalString cfg.setKubeConfig (units.exportUnset {
        KUBECONFIG = "$HOME/.kube/k3s.yaml";
      });
  };
}
