# A docker registry (itself a Nix image) on localhost:5000; Nix and dockerTools images
# are pushed with nerdctl and with the image's copyToRegistry, removed, and pulled back,
# on a rootful and a rootless containerd. copyToContainerd loads into the rootless one
# through "$XDG_RUNTIME_DIR/containerd/containerd.sock".
{ pkgs, lib, ... }:

let
  common = import ./common.nix { inherit lib; };

  registryConfig = pkgs.writeText "docker-registry-config.yml" (builtins.toJSON {
    version = "0.1";
    storage = {
      cache.blobdescriptor = "inmemory";
      filesystem.rootdirectory = "/var/lib/docker-registry";
    };
    http.addr = "0.0.0.0:5000";
  });

  registry = pkgs.nix-snapshotter.buildImage {
    name = "ghcr.io/pdtpartners/registry";
    config = {
      entrypoint = [ "${pkgs.docker-distribution}/bin/registry" ];
      cmd = [ "serve" registryConfig ];
    };
  };

  helloDockerTools = pkgs.dockerTools.buildImage {
    name = "localhost:5000/docker-tools/hello";
    tag = "latest";
    config.entrypoint = [ "${pkgs.hello}/bin/hello" ];
  };

  helloNix = pkgs.nix-snapshotter.buildImage {
    name = "localhost:5000/nix-snapshotter/hello";
    config.entrypoint = [ "${pkgs.hello}/bin/hello" ];
  };

  # Pushed by the Nix side only (never loaded first).
  helloScripted = pkgs.nix-snapshotter.buildImage {
    name = "localhost:5000/nix-snapshotter/Hello-Scripted";
    config.entrypoint = [ "${pkgs.hello}/bin/hello" ];
  };
  pushScripted = helloScripted.copyToRegistry { plainHTTP = true; };
  loadScripted = helloScripted.copyToContainerd {
    address = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
  };

  archives = [ registry helloDockerTools helloNix ];
  tools.environment.systemPackages = [ pkgs.nerdctl pkgs.curl pushScripted loadScripted ];
in
{
  nodes = {
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
  };

  testScript = ''
    ${common.python}

    def test(machine, sudo=""):
        wait_for_unit(machine, "nix-snapshotter.service")
        wait_for_unit(machine, "containerd.service")
        wait_for_unit(machine, "preload-containerd.service")

        machine.succeed(f"{sudo} nerdctl run -d -p 5000:5000 --name registry ghcr.io/pdtpartners/registry")
        machine.wait_until_succeeds(
            "curl -fs -o /dev/null http://localhost:5000/v2/", timeout=60)

        for image in ["docker-tools/hello", "nix-snapshotter/hello"]:
            with subtest(f"{machine.name}: push and pull localhost:5000/{image}"):
                machine.succeed(f"{sudo} nerdctl push localhost:5000/{image}")
                machine.succeed(f"{sudo} nerdctl rmi localhost:5000/{image}")
                machine.succeed(f"{sudo} nerdctl pull localhost:5000/{image}")
                out = machine.succeed(f"{sudo} nerdctl run --rm localhost:5000/{image}")
                assert "Hello, world!" in out, out

        with subtest(f"{machine.name}: copy-to-registry (lower-cased name), then pull"):
            machine.succeed(f"{sudo} copy-to-registry")
            machine.succeed(f"{sudo} nerdctl pull localhost:5000/nix-snapshotter/hello-scripted:latest")
            out = machine.succeed(f"{sudo} nerdctl run --rm localhost:5000/nix-snapshotter/hello-scripted")
            assert "Hello, world!" in out, out
            machine.succeed(f"{sudo} nerdctl rm -f registry")

    start_all()
    test(rootful)
    test(rootless, "${common.sudoAlice}")

    with subtest("rootless: copy-to-containerd expands $XDG_RUNTIME_DIR"):
        rootless.succeed("${common.sudoAlice} nerdctl rmi localhost:5000/nix-snapshotter/hello-scripted")
        rootless.succeed("${common.sudoAlice} copy-to-containerd")
        out = rootless.succeed("${common.sudoAlice} nerdctl run --rm localhost:5000/nix-snapshotter/hello-scripted")
        assert "Hello, world!" in out, out
  '';
}
