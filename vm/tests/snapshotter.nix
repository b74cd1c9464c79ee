# nerdctl runs a Nix image (an executable store path as entrypoint) and redis from a
# dockerTools image and from a Nix image with published ports (CNI), on a rootful
# containerd, a rootless one, and with nix-snapshotter's external_builder.
{ pkgs, lib, ... }:

let
  common = import ./common.nix { inherit lib; };

  helloScript = pkgs.nix-snapshotter.buildImage {
    name = "ghcr.io/nix-snapshotter/hello-world";
    config.entrypoint = [
      (pkgs.writeShellScript "hello-world" ''
        echo "Hello, world!"
      '')
    ];
  };

  redisDockerTools = pkgs.dockerTools.buildImage {
    name = "ghcr.io/docker-tools/redis";
    tag = "latest";
    config = {
      Entrypoint = [ "${pkgs.redis}/bin/redis-server" ];
      Cmd = [ "--protected-mode" "no" ];
    };
  };

  redisNix = pkgs.nix-snapshotter.buildImage {
    name = "ghcr.io/nix-snapshotter/redis";
    config = {
      Entrypoint = [ "${pkgs.redis}/bin/redis-server" ];
      Cmd = [ "--protected-mode" "no" ];
    };
  };

  archives = [ helloScript redisDockerTools redisNix ];
  tools.environment.systemPackages = [ pkgs.nerdctl pkgs.redis ];

  rootful = {
    imports = [ tools ];
    virtualisation.containerd = {
      enable = true;
      nixSnapshotterIntegration = true;
    };
    services.nix-snapshotter.enable = true;
    services.preload-containerd = {
      enable = true;
      targets = [{ inherit archives; }];
    };
  };
in
{
  nodes = {
    inherit rootful;

    rootless = {
      imports = [ tools common.alice ];
      virtualisation.containerd.rootless = {
        enable = true;
        nixSnapshotterIntegration = true;
      };
      services.nix-snapshotter.rootless.enable = true;
      services.preload-containerd.rootless = {
        enable = true;
        targets = [{
          inherit archives;
          address = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
        }];
      };
    };

    # Store paths realised by a program of our choosing (EXE OUTLINK STOREPATH).
    external = {
      imports = [ rootful ];
      services.nix-snapshotter.settings.external_builder = toString
        (pkgs.writeShellScript "external-builder" ''
          echo "$2" >> /tmp/external-builder.log
          exec ${pkgs.nix}/bin/nix-store --realise "$2" --add-root "$1"
        '');
    };
  };

  testScript = ''
    ${common.python}

    def test(machine, sudo=""):
        wait_for_unit(machine, "nix-snapshotter.service")
        wait_for_unit(machine, "containerd.service")
        wait_for_unit(machine, "preload-containerd.service")

        with subtest(f"{machine.name}: a store path as entrypoint, no flags"):
            out = machine.succeed(f"{sudo} nerdctl run --rm ghcr.io/nix-snapshotter/hello-world")
            assert "Hello, world!" in out, out

        with subtest(f"{machine.name}: redis from dockerTools.buildImage, port 30000"):
            machine.succeed(f"{sudo} nerdctl run -d -p 30000:6379 ghcr.io/docker-tools/redis")
            out = machine.wait_until_succeeds(f"{sudo} redis-cli -p 30000 ping")
            assert "PONG" in out, out

        with subtest(f"{machine.name}: redis from nix-snapshotter.buildImage, port 30001"):
            machine.succeed(f"{sudo} nerdctl run -d -p 30001:6379 ghcr.io/nix-snapshotter/redis")
            out = machine.wait_until_succeeds(f"{sudo} redis-cli -p 30001 ping")
            assert "PONG" in out, out

    start_all()
    test(rootful)
    test(rootless, "${common.sudoAlice}")
    test(external)

    with subtest("external: the store paths went through the external builder"):
        external.succeed("test -s /tmp/external-builder.log")
  '';
}
