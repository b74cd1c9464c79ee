# The buildImage and copy-script cases tests/nix/run.sh builds and checks.
{ busyboxDir, nix2containerBin ? "" }:

let
  pkgs = import ./stub-pkgs.nix { inherit busyboxDir nix2containerBin; };
  inherit (pkgs) runCommand;

  buildImage = import ../../nix/build-image.nix {
    inherit (pkgs) lib runCommand writeText closureInfo nix2container;
  };
  scripts = import ../../nix/copy-scripts.nix {
    inherit (pkgs) lib writeShellScript nix2container;
  };

  # A two-path closure: hello refers to its library, as a real program would.
  helloLib = runCommand "hello-lib" { } ''
    mkdir -p $out/lib
    echo "greeting=hello" > $out/lib/libhello.conf
  '';
  hello = runCommand "hello" { } ''
    mkdir -p $out/bin
    printf '#!/bin/sh\n# config: %s\necho hello\n' ${helloLib}/lib/libhello.conf > $out/bin/hello
    chmod 555 $out/bin/hello
  '';
  # Not referenced by any image: must stay out of every closure.
  unrelated = runCommand "unrelated" { } "echo unrelated > $out";

  helloImage = buildImage {
    name = "localhost/hello";
    config = {
      Entrypoint = [ "${hello}/bin/hello" ];
      Env = [ "GREETING=hi there" ];
      WorkingDir = "/";
    };
    copyToRoot = [ hello ];
  };
in
{
  inherit hello helloLib unrelated helloImage;
  inherit (pkgs) nix2containerIsFake;

  # Named after its own store path; copyToRoot given as a single derivation.
  redisImage = buildImage {
    name = "localhost/redis";
    resolvedByNix = true;
    config.entrypoint = [ "${hello}/bin/hello" "--port" "6379" ];
    copyToRoot = hello;
  };

  # Another image as base, a custom tag, no config, quoting in the name.
  layeredImage = buildImage {
    name = "localhost/layered";
    tag = "v1.2";
    fromImage = helloImage;
  };

  # Only the config's own references: no copyToRoot.
  configOnlyImage = buildImage {
    name = "config-only";
    config.Cmd = [ "${helloLib}/lib/libhello.conf" ];
  };

  helloImageRef = helloImage.imageRef;

  pushScript = scripts.copyToRegistry helloImage { plainHTTP = true; };
  pushScriptNamed = scripts.copyToRegistry helloImage {
    imageName = "127.0.0.1:5000/hello";
    imageTag = "v2";
  };
  loadScript = scripts.copyToContainerd helloImage {
    address = "/tmp/nixsnap-x/containerd.sock";
    namespace = "k8s.io";
  };
  loadScriptDefaults = scripts.copyToContainerd helloImage { };
}
