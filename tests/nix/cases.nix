# The buildImage and copy-script cases tests/nix/run.sh (section b) and
# tests/integration/nix_copy_scripts.sh build and check.
#   registry: host:port the copy-to-registry cases push to
{ busyboxDir, nix2containerBin ? "", registry ? "127.0.0.1:5000" }:

let
  pkgs = import ./stub-pkgs.nix { inherit busyboxDir nix2containerBin; };
  inherit (pkgs) runCommand busybox;

  buildImage = import ../../nix/build-image.nix {
    inherit (pkgs) lib runCommand writeText writeShellScriptBin closureInfo nix2container;
  };
  # package.nix's passthru functions, the documented alias of the image's own.
  scripts = import ../../nix/copy-scripts.nix {
    inherit (pkgs) lib writeShellScriptBin nix2container;
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

  # Runs in a container: a static busybox applet (its closure: applets + busybox).
  echoImage = buildImage {
    name = "localhost/nix-copy-echo";
    config.entrypoint = [ "${busybox}/bin/echo" "hello from copy-to-containerd" ];
  };

  helloImage = buildImage {
    name = "localhost/hello";
    config = {
      Entrypoint = [ "${hello}/bin/hello" ];
      Env = [ "GREETING=hi there" ];
      WorkingDir = "/";
    };
    copyToRoot = [ hello ];
  };

  # A base image as nixpkgs' dockerTools.buildImage writes one: a gzipped docker
  # archive (manifest.json, <config digest>.json, <layer>/layer.tar, repositories)
  # holding /etc/base-release.
  dockerBase = runCommand "docker-image-base.tar.gz" { } ''
    mkdir -p work/root/etc work/image
    cd work
    echo "base 1" > root/etc/base-release
    tar -C root -cf layer.tar etc
    diffid="$(sha256sum layer.tar | cut -d' ' -f1)"
    mkdir "image/$diffid"
    mv layer.tar "image/$diffid/layer.tar"
    arch="$(uname -m)"
    case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
    printf '{"architecture":"%s","os":"linux","config":{"Env":["BASE=1"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"dockerTools"}]}' \
      "$arch" "$diffid" > config.json
    cfg="$(sha256sum config.json | cut -d' ' -f1)"
    mv config.json "image/$cfg.json"
    printf '[{"Config":"%s.json","RepoTags":["docker-tools/base:latest"],"Layers":["%s/layer.tar"]}]' \
      "$cfg" "$diffid" > image/manifest.json
    printf '{"docker-tools/base":{"latest":"%s"}}' "$diffid" > image/repositories
    tar -C image -cf - . | gzip -c > "$out"
  '';
in
{
  inherit hello helloLib unrelated helloImage dockerBase;
  inherit (pkgs) nix2containerIsFake;

  # Named after its own store path; copyToRoot given as a single derivation.
  redisImage = buildImage {
    name = "localhost/redis";
    resolvedByNix = true;
    config.entrypoint = [ "${hello}/bin/hello" "--port" "6379" ];
    copyToRoot = hello;
  };

  # Another image as base, a custom tag, no config.
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

  # Upper case in the name (the reference is written lower case), resolvedByNix too.
  upperImage = buildImage {
    name = "GHCR.io/PDTPartners/Hello";
    tag = "V1";
    config.Cmd = [ "x" ];
  };
  upperNixImage = buildImage {
    name = "Redis";
    resolvedByNix = true;
  };

  # A dockerTools-style base: its layer first, configs merged.
  dockerBasedImage = buildImage {
    name = "localhost/docker-based";
    fromImage = dockerBase;
    config.Env = [ "NIX=1" ];
    copyToRoot = [ hello helloLib ];
  };

  inherit echoImage;

  # What tests/integration/nix_copy_scripts.sh runs against containerd and a registry.
  echoLoad = echoImage.copyToContainerd {
    address = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
    namespace = "nix-copy";
  };
  echoPush = echoImage.copyToRegistry {
    imageName = "${registry}/nix-copy/Echo";
    imageTag = "v1";
    plainHTTP = true;
  };

  # The passthru scripts and the package's function aliases.
  pushScript = helloImage.copyToRegistry { plainHTTP = true; };
  pushScriptNamed = helloImage.copyToRegistry {
    imageName = "127.0.0.1:5000/Hello";
    imageTag = "v2";
  };
  pushScriptAlias = scripts.copyToRegistry helloImage { plainHTTP = true; };
  loadScript = helloImage.copyToContainerd {
    address = "/tmp/nixsnap-x/containerd.sock";
    namespace = "k8s.io";
  };
  loadScriptDefaults = helloImage.copyToContainerd { };
  loadScriptAlias = scripts.copyToContainerd helloImage { };
  loadScriptXdg = helloImage.copyToContainerd {
    address = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
  };
  loadScriptBraced = helloImage.copyToContainerd {
    address = "\${XDG_RUNTIME_DIR}/c d/\${NIXSNAP_SUFFIX}.sock";
  };
  # Shell syntax in values stays text: nothing runs, the values arrive verbatim.
  loadScriptHostile = helloImage.copyToContainerd {
    address = "/tmp/nixsnap-x/a'; touch \"pwned\"; echo '`touch pwned`|*;b";
    namespace = "ns\"; touch pwned; $(touch pwned) `touch pwned`";
  };
  pushScriptHostile = helloImage.copyToRegistry {
    imageName = "localhost/a'$(touch pwned)";
    imageTag = "t`touch pwned`";
  };
  # A `$` that is not a variable reference is refused at evaluation.
  refusesCommandSubstitution =
    !(builtins.tryEval (helloImage.copyToContainerd { address = "/run/$(touch pwned)"; }).drvPath).success;
  refusesDefaultExpansion =
    !(builtins.tryEval (helloImage.copyToContainerd { address = "\${X:-/run}/c.sock"; }).drvPath).success;
  refusesPositional =
    !(builtins.tryEval (helloImage.copyToContainerd { address = "/run/$1"; }).drvPath).success;

  # Passthru values the tests compare.
  passthru = {
    helloName = helloImage.name;
    helloTag = helloImage.tag;
    helloImage = helloImage.image;
    helloImageRef = helloImage.imageRef;
    redisImage = (buildImage { name = "localhost/redis"; resolvedByNix = true; config.entrypoint = [ "${hello}/bin/hello" "--port" "6379" ]; copyToRoot = hello; }).image;
    upperImage = (buildImage { name = "GHCR.io/PDTPartners/Hello"; tag = "V1"; config.Cmd = [ "x" ]; }).image;
    upperName = (buildImage { name = "GHCR.io/PDTPartners/Hello"; }).name;
    closureInfoPath = "${helloImage.closure}";
    aliasSameRegistry = (scripts.copyToRegistry helloImage { plainHTTP = true; }).drvPath
      == (helloImage.copyToRegistry { plainHTTP = true; }).drvPath;
    aliasSameContainerd = (scripts.copyToContainerd helloImage { }).drvPath
      == (helloImage.copyToContainerd { }).drvPath;
  };
}
