# VM test: a Nix image runs with nerdctl and ctr through nix-snapshotter, rootful
# (system containerd) and rootless (user containerd in rootlesskit).
#   nix build .#checks.x86_64-linux.nerdctl
{ pkgs }:

let
  examples = import ../../nix/examples.nix { inherit pkgs; };
  nix-snapshotter = pkgs.nix-snapshotter or (pkgs.callPackage ../../package.nix { });

  # Lists /nix/store from inside a container: must be exactly busybox's closure.
  probe = nix-snapshotter.buildImage {
    name = "localhost/probe";
    config.entrypoint = [ "${pkgs.busybox}/bin/ls" "-1" "/nix/store" ];
  };
  images = [ examples.hello probe ];
in
pkgs.nixosTest {
  name = "nix-snapshotter-nerdctl";

  nodes = {
    rootful = { pkgs, ... }: {
      imports = [ ../../modules/nixos/nix-snapshotter.nix ];
      virtualisation.memorySize = 2048;
      services.nix-snapshotter = {
        enable = true;
        preloadContainerdImages = images;
      };
      environment.systemPackages = [ pkgs.nerdctl ];
    };

    rootless = { pkgs, ... }: {
      imports = [ ../../modules/nixos/nix-snapshotter-rootless.nix ];
      virtualisation.memorySize = 2048;
      services.nix-snapshotter.rootless = {
        enable = true;
        preloadContainerdImages = images;
      };
      users.users.alice = {
        isNormalUser = true;
        uid = 1000;
        autoSubUidGidRange = true;
        linger = true;
      };
      environment.systemPackages = [ pkgs.nerdctl ];
    };
  };

  testScript = ''
    def closure_of(machine, path):
        """Basenames of the store paths in path's closure, sorted."""
        return sorted(p.split("/")[-1] for p in machine.succeed(f"nix-store -qR {path}").split())

    start_all()

    with subtest("rootful: the images are loaded at boot"):
        rootful.wait_for_unit("containerd.service")
        rootful.wait_for_unit("nix-snapshotter.service")
        rootful.wait_for_unit("nix-snapshotter-preload-images.service")
        rootful.succeed("ctr images ls -q | grep -x localhost/hello:latest")

    with subtest("rootful: hello runs with nerdctl and with ctr"):
        out = rootful.succeed("nerdctl run --rm --net none --snapshotter nix localhost/hello:latest")
        assert "Hello, world!" in out, out
        out = rootful.succeed("ctr run --rm --snapshotter nix localhost/hello:latest hello-ctr")
        assert "Hello, world!" in out, out

    with subtest("rootful: the container sees exactly the image's closure"):
        closure = closure_of(rootful, "${pkgs.busybox}")
        seen = sorted(rootful.succeed(
            "ctr run --rm --snapshotter nix localhost/probe:latest probe").split())
        assert seen == closure, f"container sees {seen}, closure is {closure}"

    with subtest("rootful: unpacked images hold GC roots"):
        rootful.succeed("test -n \"$(ls -A /var/lib/containerd/io.containerd.snapshotter.v1.nix/gcroots)\"")

    with subtest("rootless: hello runs as alice"):
        rootless.wait_for_unit("nix-snapshotter-preload-images.service", "alice")
        as_alice = "sudo -u alice env XDG_RUNTIME_DIR=/run/user/1000 "
        out = rootless.succeed(
            as_alice + "nerdctl run --rm --net none --snapshotter nix localhost/hello:latest")
        assert "Hello, world!" in out, out
        closure = closure_of(rootless, "${pkgs.busybox}")
        seen = sorted(rootless.succeed(
            as_alice + "nerdctl run --rm --net none --snapshotter nix localhost/probe:latest").split())
        assert seen == closure, f"container sees {seen}, closure is {closure}"
  '';
}
