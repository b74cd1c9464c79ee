# k3s on its embedded containerd with snapshotter nix (services.k3s.snapshotter): the
# redis pod from a nix:0 image answers PONG through its NodePort.
{ pkgs, ... }:

{
  nodes.machine = {
    imports = [ ../redis-spec.nix ];
    virtualisation = {
      memorySize = 4096;
      diskSize = 4096;
    };
    services.k3s = {
      enable = true;
      setKubeConfig = true;
      snapshotter = "nix";
    };
    environment.systemPackages = [ pkgs.kubectl pkgs.redis ];
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
