# services.kubernetes (kubelet on containerd) with nix-snapshotter as kubelet's image
# service: the redis pod from a nix:0 image answers PONG through its NodePort.
{ lib, pkgs, ... }:

{
  nodes.machine = { config, k8sResources, ... }: {
    virtualisation = {
      memorySize = 4096;
      diskSize = 4096;
    };
    virtualisation.containerd = {
      enable = true;
      nixSnapshotterIntegration = true;
    };
    services.nix-snapshotter.enable = true;

    services.kubernetes = {
      roles = [ "master" "node" ];
      masterAddress = "localhost";
      kubelet.extraOpts =
        "--image-service-endpoint unix:///run/nix-snapshotter/nix-snapshotter.sock";
    };

    environment.systemPackages = [ pkgs.kubectl pkgs.redis ];
    environment.sessionVariables.KUBECONFIG =
      "/etc/${config.services.kubernetes.pki.etcClusterAdminKubeconfig}";

    environment.etc."kubernetes/redis/pod.json".source =
      pkgs.writeText "redis-pod.json" (builtins.toJSON k8sResources.redisPod);
    environment.etc."kubernetes/redis/service.json".source =
      pkgs.writeText "redis-service.json" (builtins.toJSON k8sResources.redisService);
  };

  testScript = ''
    start_all()
    machine.wait_until_succeeds("kubectl get node $(hostname) | grep -w Ready", timeout=600)
    machine.wait_until_succeeds("kubectl apply -f /etc/kubernetes/redis/")
    machine.wait_until_succeeds("kubectl get pod redis | grep Running", timeout=600)
    out = machine.wait_until_succeeds("redis-cli -p 30000 ping")
    assert "PONG" in out, out
  '';
}
