# k3s on the system containerd (k3sIntegration) with nix-snapshotter as kubelet's image
# service, as `nix run .#vm`: the redis pod answers PONG, nerdctl runs the preloaded
# hello image with no flags (CONTAINERD_* from setAddress/setNamespace/setSnapshotter).
{ pkgs, ... }:

let
  hello = (import ../../nix/examples.nix { inherit pkgs; }).image-hello;
in
{
  nodes.machine = { config, ... }: {
    imports = [ ../redis-spec.nix ../sandbox-image.nix ];
    virtualisation = {
      memorySize = 4096;
      diskSize = 4096;
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
    services.preload-containerd = {
      enable = true;
      targets = [{
        archives = [ hello ];
        namespace = config.virtualisation.containerd.setNamespace;
      }];
    };
    environment.systemPackages = [ pkgs.kubectl pkgs.nerdctl pkgs.redis ];
  };

  testScript = ''
    start_all()
    machine.wait_for_unit("preload-containerd.service")

    with subtest("nerdctl runs the preloaded image with no flags"):
        out = machine.succeed("bash -lc 'nerdctl run --rm ${hello.image}'")
        assert "Hello, world!" in out, out

    with subtest("the redis pod from a nix:0 image"):
        machine.wait_until_succeeds("kubectl get node $(hostname) | grep -w Ready", timeout=600)
        machine.wait_until_succeeds("kubectl apply -f /etc/kubernetes/redis/")
        machine.wait_until_succeeds("kubectl get pod redis | grep Running", timeout=600)
        out = machine.wait_until_succeeds("redis-cli -p 30000 ping")
        assert "PONG" in out, out
  '';
}
