# VM test: k3s with nix-snapshotter as kubelet's image service runs a redis pod from
# a "nix:0/nix/store/...-nix-image-redis.tar" image (no registry); redis-cli ping
# answers PONG.
#   nix build .#checks.x86_64-linux.kubernetes-redis
{ pkgs }:

let
  examples = import ../../nix/examples.nix { inherit pkgs; };

  pod = pkgs.writeText "redis-pod.json" (builtins.toJSON {
    apiVersion = "v1";
    kind = "Pod";
    metadata.name = "redis";
    spec.containers = [{
      name = "redis";
      image = "nix:0${examples.redis}";
      imagePullPolicy = "IfNotPresent";
      ports = [{ containerPort = 6379; }];
    }];
  });
in
pkgs.nixosTest {
  name = "nix-snapshotter-kubernetes-redis";

  nodes.machine = { ... }: {
    imports = [ ../k3s.nix ];
    virtualisation = {
      memorySize = 4096;
      cores = 2;
      diskSize = 4096;
      # The nix:0 archive and its closure must be valid paths in the VM's store.
      additionalPaths = [ examples.redis ];
    };
  };

  testScript = ''
    start_all()
    machine.wait_for_unit("nix-snapshotter.service")
    machine.wait_for_unit("nix-snapshotter-preload-images.service")
    machine.wait_for_unit("k3s.service")

    with subtest("the node becomes ready"):
        machine.wait_until_succeeds(
            "k3s kubectl wait --for=condition=Ready node/machine --timeout=10s", timeout=600)

    with subtest("kubelet pulls the nix:0 image through nix-snapshotter and runs redis"):
        machine.succeed("k3s kubectl apply -f ${pod}")
        machine.wait_until_succeeds(
            "k3s kubectl wait --for=condition=Ready pod/redis --timeout=10s", timeout=600)
        out = machine.succeed("k3s kubectl exec redis -- redis-cli ping")
        assert out.strip() == "PONG", out

    with subtest("the image is in containerd's k8s.io namespace, unpacked for snapshotter nix"):
        machine.succeed("ctr -n k8s.io images ls -q | grep -F 'nix:0${examples.redis}'")
        machine.succeed("test -n \"$(ls -A /var/lib/containerd/io.containerd.snapshotter.v1.nix/gcroots)\"")

    with subtest("the pod goes away cleanly"):
        machine.succeed("k3s kubectl delete pod redis --wait=true --timeout=120s")
  '';
}
