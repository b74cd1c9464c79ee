# Compares this project's option tree with the original nix-snapshotter's: both sets of
# modules are evaluated with nixpkgs' module system against the same stand-ins, and
# every visible option the original declares must exist here with the same type and the
# same default. Options only this project has are listed (`extras`).
#   libPath:     a directory holding nixpkgs' lib/
#   originalDir: a checkout of the original's modules/ (tests/nix/run.sh extracts it
#                from the local mirror of pdtpartners/nix-snapshotter; nothing of it is
#                kept in this repository)
# Result: { compared; missing; typeDiffers; defaultDiffers; extras; }
{ libPath, originalDir }:
let
  lib0 = import (libPath + "/lib");
  # The original still calls lib.mdDoc / mkPackageOptionMD, which nixpkgs has since removed.
  lib = lib0 // { mdDoc = x: x; mkPackageOptionMD = lib0.mkPackageOption; };
  nixos = import ./standins/nixos.nix { inherit libPath; };
  hm = import ./standins/home-manager.nix { inherit libPath; };
  pkgsModule = { lib, ... }: {
    # The original reads pkgs.go.{GOOS,GOARCH}; both read pkgs.nix-snapshotter.
    _module.args.pkgs = lib.mkForce (import ./standins/pkgs.nix {
      inherit libPath;
      overlays = [ (final: prev: {
        nix-snapshotter = prev.callPackage ../../package.nix { };
        go = { GOOS = "linux"; GOARCH = "amd64"; };
      }) ];
    });
  };

  ours = import ../../flake.nix;
  flake = ours.outputs { self = flake; nixpkgs = { inherit lib; outPath = ./standins/nixpkgs; }; };

  # A value as comparable text: derivations by name, functions and missing values marked.
  sanitize = v:
    if lib.isDerivation v then "<drv ${v.name}>"
    else if builtins.isFunction v then "<function>"
    else if builtins.isList v then map sanitize v
    else if builtins.isAttrs v then lib.mapAttrs (_: sanitize) v
    else v;
  valueText = v:
    let r = builtins.tryEval (builtins.toJSON (sanitize v));
    in if r.success then r.value else "<no value>";

  # name -> { type; default = the option's value when nothing is enabled; }
  docs = core: modules:
    let
      evaluated = lib.evalModules { modules = [ core pkgsModule ] ++ modules; specialArgs = { inherit lib; }; };
      visible = lib.filter (o: o.visible && !o.internal && !(o.readOnly or false))
        (lib.optionAttrSetToDocList evaluated.options);
      valueAt = name:
        let opt = lib.attrByPath (lib.splitString "." name) null evaluated.options;
        in if opt == null || lib.hasInfix "*" name || lib.hasInfix "<name>" name then "<sub-option>"
        else valueText opt.value;
    in
    lib.listToAttrs (map (o: { name = o.name; value = { inherit (o) type; default = valueAt o.name; }; }) visible);

  isOurs = name: lib.any (p: lib.hasPrefix p name) [
    "services.nix-snapshotter" "virtualisation.containerd" "services.preload-containerd" "services.k3s"
  ];

  compare = theirs: mine:
    let
      names = lib.filter isOurs (lib.attrNames theirs);
      render = o: o.default;
    in
    {
      compared = builtins.length names;
      missing = lib.filter (n: !(mine ? ${n})) names;
      typeDiffers = map (n: "${n}: original ${theirs.${n}.type}, ours ${mine.${n}.type}")
        (lib.filter (n: mine ? ${n} && theirs.${n}.type != mine.${n}.type) names);
      defaultDiffers = map (n: "${n}: original ${render theirs.${n}}, ours ${render mine.${n}}")
        (lib.filter (n: mine ? ${n} && render theirs.${n} != render mine.${n}) names);
      extras = lib.filter (n: isOurs n && !(theirs ? ${n})) (lib.attrNames mine);
    };

  orig = name: originalDir + "/${name}";
  nixosNames = [ "nix-snapshotter" "nix-snapshotter-rootless" "containerd" "containerd-rootless"
    "preload-containerd" "preload-containerd-rootless" "k3s" "k3s-rootless" ];
  homeNames = [ "nix-snapshotter-rootless" "containerd-rootless" "preload-containerd-rootless" "k3s-rootless" ];
in
{
  nixos = compare
    (docs nixos.nixosCore (map (n: orig "nixos/${n}.nix") nixosNames))
    (docs nixos.nixosCore [ flake.nixosModules.default ]);
  home = compare
    (docs hm.hmCore (map (n: orig "home/${n}.nix") homeNames))
    (docs hm.hmCore (map (n: flake.homeModules.${n}) homeNames));
}
