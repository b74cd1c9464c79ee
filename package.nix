# nix-snapshotter (C++): the containerd proxy snapshotter and CRI image service
# (bin/nix-snapshotter) and the image tool (bin/nix2container).
#
#   pkgs.callPackage ./package.nix { }
#
# passthru gives the Nix-side API (nix/build-image.nix, nix/copy-scripts.nix):
#   buildImage { name, tag ? "latest", resolvedByNix ? false, fromImage ? null,
#                copyToRoot ? null, config ? {} }
#     -> the image archive, with passthru { name, tag, image, copyToRegistry, copyToContainerd }
#   image.copyToRegistry { imageName?, imageTag?, plainHTTP? } -> bin/copy-to-registry
#   image.copyToContainerd { address?, namespace? }            -> bin/copy-to-containerd
#   copyToRegistry image { ... }, copyToContainerd image { ... }: the same, as functions
{ lib
, stdenv
, cmake
, pkg-config
, protobuf
, grpc
, boost
, cli11
, nlohmann_json
, spdlog
, tomlplusplus
, openssl
, curl
, sqlite
, libarchive
, systemd
, runCommand
, writeText
, writeShellScriptBin
, closureInfo
}:

stdenv.mkDerivation (finalAttrs: {
  pname = "nix-snapshotter";
  version = "0.1.0";

  # Only what the C++ build reads: a change to docs, tests, modules or VMs does not
  # rebuild the package.
  src = lib.cleanSourceWith {
    name = "nix-snapshotter-source";
    src = ./.;
    filter = path: type:
      let
        rel = lib.removePrefix (toString ./. + "/") (toString path);
        under = dir: rel == dir || lib.hasPrefix "${dir}/" rel;
      in
      rel == "CMakeLists.txt" || under "proto" || under "src" || under "cmake";
  };

  strictDeps = true;

  nativeBuildInputs = [
    cmake
    pkg-config
    protobuf # protoc
    grpc # grpc_cpp_plugin
  ];

  buildInputs = [
    protobuf
    grpc
    boost
    cli11
    nlohmann_json
    spdlog
    tomlplusplus
    openssl
    curl
    sqlite
    libarchive
    systemd # libsystemd: sd_notify
  ];

  cmakeFlags = [
    "-DNIXSNAP_BUILD_TESTS=OFF"
    "-DNIXSNAP_BUILD_BENCH=OFF"
  ];

  # The unit and integration tests need containerd, runc and root; they run in the
  # repository's own test rig (scripts/test) and in the VM tests (vm/tests).
  doCheck = false;

  # Installs the two programs even if the CMake project has no install() rules for
  # them yet; `cmake --install` ran first and wins when it has.
  postInstall = ''
    for prog in nix-snapshotter nix2container; do
      if [ ! -x "$out/bin/$prog" ]; then
        found="$(find . -type f -name "$prog" -perm -u+x | head -n 1)"
        if [ -z "$found" ]; then
          echo "postInstall: $prog was not built" >&2
          exit 1
        fi
        install -Dm755 "$found" "$out/bin/$prog"
      fi
    done
  '';

  passthru =
    let
      nix2container = finalAttrs.finalPackage;
    in
    {
      buildImage = import ./nix/build-image.nix {
        inherit lib runCommand writeText writeShellScriptBin closureInfo nix2container;
      };
      inherit (import ./nix/copy-scripts.nix { inherit lib writeShellScriptBin nix2container; })
        copyToRegistry copyToContainerd;
    };

  meta = {
    description = "containerd snapshotter that mounts Nix store paths into containers, with a CRI image service and nix2container";
    mainProgram = "nix-snapshotter";
    platforms = lib.platforms.linux;
  };
})
