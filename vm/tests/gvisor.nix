# gVisor (runsc, gVisorIntegration) runs a Nix image, rootful and rootless: the kernel
# log inside the container is gVisor's and redis answers PONG.
{ pkgs, lib, ... }:

let
  common = import ./common.nix { inherit lib; };

  redis = pkgs.nix-snapshotter.buildImage {
    name = "ghcr.io/pdtpartners/redis";
    # dmesg, to see whose kernel answers.
    copyToRoot = [ pkgs.util-linux ];
    config = {
      Entrypoint = [ "${pkgs.redis}/bin/redis-server" ];
      Cmd = [ "--protected-mode" "no" ];
    };
  };

  tools.environment.systemPackages = [ pkgs.nerdctl pkgs.redis ];
in
{
  nodes = {
    rootful = {
      imports = [ tools ];
      virtualisation.containerd = {
        enable = true;
        nixSnapshotterIntegration = true;
        gVisorIntegration = true;
      };
      services.nix-snapshotter.enable = true;
      services.preload-containerd = {
        enable = true;
        targets = [{ archives = [ redis ]; }];
      };
    };

    rootless = {
      imports = [ tools common.alice ];
      virtualisation.containerd.rootless = {
        enable = true;
        nixSnapshotterIntegration = true;
        gVisorIntegration = true;
      };
      services.nix-snapshotter.rootless.enable = true;
      services.preload-containerd.rootless = {
        enable = true;
        targets = [{
          archives = [ redis ];
          address = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
        }];
      };
    };
  };

  testScript = ''
    ${common.python}

    def test(machine, sudo=""):
        wait_for_unit(machine, "nix-snapshotter.service")
        wait_for_unit(machine, "containerd.service")
        wait_for_unit(machine, "preload-containerd.service")

        with subtest(f"{machine.name}: redis under runsc"):
            machine.succeed(
                f"{sudo} nerdctl run -d --name redis --runtime runsc -p 30000:6379 --cap-add syslog ghcr.io/pdtpartners/redis")

        with subtest(f"{machine.name}: the container's kernel is gVisor"):
            out = machine.succeed(f"{sudo} nerdctl exec redis dmesg")
            assert "gVisor" in out, out

        with subtest(f"{machine.name}: redis answers"):
            out = machine.wait_until_succeeds(f"{sudo} redis-cli -p 30000 ping")
            assert "PONG" in out, out

    start_all()
    test(rootful)
    test(rootless, "${common.sudoAlice}")
  '';
}
