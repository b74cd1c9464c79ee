# Rootless k3s (services.k3s.rootless) with snapshotter nix, run by alice: the redis pod
# from a nix:0 image answers PONG on port 30000 of the host.
{ pkgs, lib, ... }:

let
  common = import ./common.nix { inherit lib; };
  asAlice = "KUBECONFIG=/home/alice/.kube/k3s.yaml sudo --preserve-env=KUBECONFIG -u alice";
in
{
  nodes.machine = {
    imports = [ ../redis-spec.nix common.alice ];
    virtualisation = {
      memorySize = 4096;
      diskSize = 4096;
    };
    services.k3s.rootless = {
      enable = true;
      snapshotter = "nix";
    };
    environment.systemPackages = [ pkgs.kubectl pkgs.redis ];
  };

  testScript = ''
    start_all()
    machine.wait_until_succeeds("${asAlice} kubectl get node $(hostname) | grep -w Ready", timeout=600)
    machine.wait_until_succeeds("${asAlice} kubectl apply -f /etc/kubernetes/redis/")
    machine.wait_until_succeeds("${asAlice} kubectl get pod redis | grep Running", timeout=600)
    out = machine.wait_until_succeeds("${asAlice} redis-cli -p 30000 ping")
    assert "PONG" in out, out
  '';
}
