# A stand-in for `import nixpkgs { system; overlays; }` (tests/nix/flake-outputs.nix):
# the few packages and functions flake.nix, package.nix, nix/examples.nix and the VM
# tests use, as busybox-built raw derivations (tests/nix/stub-pkgs.nix).
# stdenv.mkDerivation does not compile anything: it records the filtered source tree
# (source-listing) and installs the recording fake nix2container, so images built
# through package.nix's passthru can be built and checked.
# The busybox directory comes from $NIXSNAP_BUSYBOX_DIR (impure evaluation).
{ system ? builtins.currentSystem, overlays ? [ ] }:

let
  base = import ../stub-pkgs.nix { busyboxDir = builtins.getEnv "NIXSNAP_BUSYBOX_DIR"; };
  lib = import ./lib.nix;
  inherit (base) runCommand;

  # Something with bin/<name> that prints its name.
  tool = name: runCommand name { } ''
    mkdir -p $out/bin
    printf '#!/bin/sh\necho ${name}\n' > $out/bin/${name}
    chmod 555 $out/bin/${name}
  '';

  pkgsFun = self: {
    inherit lib system;
    inherit (base) runCommand writeText writeShellScript writeShellScriptBin closureInfo busybox;

    callPackage = fn: overrides:
      let
        f = if builtins.isFunction fn then fn else import fn;
        wanted = builtins.functionArgs f;
      in
      f (builtins.intersectAttrs wanted self // overrides);

    stdenv.mkDerivation = f:
      let
        attrs = f final;
        drv = runCommand "${attrs.pname}-${attrs.version}" { inherit (attrs) src; } ''
          mkdir -p $out/bin
          (cd "$src" && find . | sort) > $out/source-listing
          cp ${base.nix2container}/bin/nix2container $out/bin/nix2container
          printf '#!/bin/sh\necho nix-snapshotter\n' > $out/bin/nix-snapshotter
          chmod 555 $out/bin/nix-snapshotter
        '';
        final = drv // attrs.passthru // {
          inherit (attrs) pname version meta;
          cmakeFlags = attrs.cmakeFlags or [ ];
          nativeBuildInputs = attrs.nativeBuildInputs or [ ];
          buildInputs = attrs.buildInputs or [ ];
          finalPackage = final;
          passthru = attrs.passthru;
        };
      in
      final;

    # Build inputs of package.nix: only their presence matters here.
    cmake = tool "cmake";
    pkg-config = tool "pkg-config";
    protobuf = tool "protoc";
    grpc = tool "grpc_cpp_plugin";
    boost = tool "boost";
    cli11 = tool "cli11";
    nlohmann_json = tool "nlohmann_json";
    spdlog = tool "spdlog";
    tomlplusplus = tool "tomlplusplus";
    openssl = tool "openssl";
    curl = tool "curl";
    sqlite = tool "sqlite";
    libarchive = tool "libarchive";
    systemd = tool "systemd";

    # What nix/examples.nix and the VM tests put into images.
    hello = tool "hello";
    redis = runCommand "redis" { } ''
      mkdir -p $out/bin
      for p in redis-server redis-cli; do
        printf '#!/bin/sh\necho %s\n' $p > $out/bin/$p
        chmod 555 $out/bin/$p
      done
    '';
    tini = tool "tini";
    coreutils = tool "coreutils";
    nerdctl = tool "nerdctl";
    k3s = tool "k3s";
    containerd = tool "containerd";
    runc = tool "runc";
    skopeo = tool "skopeo";
    gtest = tool "gtest";
    gbenchmark = tool "gbenchmark";
    nixpkgs-fmt = tool "nixpkgs-fmt";
    mkShell = attrs: tool "shell";

    bashInteractive = tool "bash";
    # buildEnv: bin/ of every path, linked (pathsToLink is not looked at).
    buildEnv = { name, paths, ... }: runCommand name { } ''
      mkdir -p $out/bin
      for p in ${builtins.concatStringsSep " " (map toString paths)}; do
        for f in "$p"/bin/*; do ln -sf "$f" $out/bin/; done
      done
    '';
    # Stands for the archive: only the fake nix2container reads it here.
    dockerTools.buildImage = args: runCommand "docker-image-${baseNameOf args.name}.tar.gz" { } ''
      echo "docker archive of ${args.name}" > $out
    '';

    # The NixOS test framework: kept as data, so tests can look at it.
    nixosTest = test: test // { _isNixosTest = true; };
    testers.runNixOSTest = test: test // { _isNixosTest = true; };
  };

  fix = f: let x = f x; in x;
  withOverlays = self:
    builtins.foldl' (acc: overlay: acc // overlay self acc) (pkgsFun self) overlays;
in
fix withOverlays
