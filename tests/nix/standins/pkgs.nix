# A stand-in for `import nixpkgs { system; overlays; }` in module evaluations: nixpkgs'
# real lib, and packages as fake derivations (never built). Script writers keep their
# text (`.text`) and formats.toml keeps the value and its TOML text, so tests read what
# a module would write.
#   libPath: a directory holding nixpkgs' lib/ (nix-community/nixpkgs.lib)
{ libPath, system ? "x86_64-linux", overlays ? [ ], containerdVersion ? "2.1.4" }:
let
  lib = import (libPath + "/lib");
  toTOML = import ./toml.nix { inherit lib; };

  hashOf = s: builtins.substring 0 32 (builtins.hashString "sha256" s);
  fake = name: extra: {
    type = "derivation";
    inherit name system;
    outPath = "/nix/store/${hashOf (name + builtins.toJSON (extra.text or ""))}-${name}";
    drvPath = "/nix/store/${hashOf name}-${name}.drv";
    version = (builtins.parseDrvName name).version;
    meta = { };
  } // extra;

  package = name: fake name { };

  base = final: {
    inherit lib system;
    path = ./.;
    stdenv.hostPlatform = { inherit system; isLinux = true; };
    appendOverlays = more: import ./pkgs.nix {
      inherit libPath system containerdVersion;
      overlays = overlays ++ more;
    };

    formats.toml = { }: {
      # The shape of nixpkgs' TOML value type: nested attribute sets and lists of
      # scalars, merged as NixOS merges them.
      type = let
        valueType = with lib.types; nullOr (oneOf [
          bool int float str path (attrsOf valueType) (listOf valueType)
        ]) // { description = "TOML value"; };
      in valueType;
      generate = name: value: fake name { text = toTOML value; settingsValue = value; };
    };

    writeText = name: text: fake name { inherit text; };
    writeShellScript = name: text: fake name { inherit text; };
    writeShellScriptBin = name: text: fake name { inherit text; binName = name; };
    writeShellApplication = { name, text, ... }: fake name { inherit text; binName = name; };
    buildEnv = { name, paths, ... }: fake name { inherit paths; };
    runCommand = name: env: text: fake name { inherit text; };

    # The overlay's `final.callPackage ./package.nix { }`: package.nix itself is tested
    # elsewhere (tests/nix/flake-outputs.nix); modules only need a package.
    callPackage = fn: _:
      if lib.hasSuffix "package.nix" (toString fn)
      then fake "nix-snapshotter-0.4.0" { pname = "nix-snapshotter"; }
      else throw "stand-in pkgs: callPackage ${toString fn} is not modelled";

    containerd = package "containerd-${containerdVersion}";
    nix = package "nix-2.24.10";
  } // lib.genAttrs [
    "bash" "cni-plugins" "cni-plugin-flannel" "coreutils" "fuse-overlayfs" "gvisor" "hello"
    "iproute2" "iptables" "k3s" "nerdctl" "procps" "redis" "rootlesskit" "runc" "slirp4netns"
    "util-linux"
  ] package;
in
lib.fix (lib.foldl' (acc: overlay: lib.extends overlay acc) base overlays)
