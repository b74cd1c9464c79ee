# A stand-in for Home Manager: the options the modules and the README's snippets touch
# that Home Manager declares, with its names and types (modules/misc/assertions.nix,
# modules/home-environment.nix, modules/systemd.nix (unitType),
# modules/programs/home-manager.nix, modules/misc/nixpkgs.nix), and
# lib.homeManagerConfiguration. No freeform anything: an option Home Manager does not
# declare fails as it does there.
{ libPath }:
let
  lib = import (libPath + "/lib");
  inherit (lib) mkOption types;

  overlayType = lib.mkOptionType {
    name = "nixpkgs-overlay";
    check = lib.isFunction;
    merge = lib.mergeOneOption;
  };
  # systemd.user.services.<name>.<Section>.<Key>, as Home Manager's unitType.
  primitive = with types; either bool (either int str);
  unitType = with types; attrsOf (attrsOf (attrsOf (either primitive (listOf primitive))));

  hmCore = { config, pkgs, ... }: {
    options = {
      assertions = mkOption { type = types.listOf types.unspecified; internal = true; default = [ ]; };
      warnings = mkOption { type = types.listOf types.str; internal = true; default = [ ]; };
      home.username = mkOption { type = types.str; };
      home.homeDirectory = mkOption { type = types.path; };
      home.stateVersion = mkOption {
        type = types.enum [ "18.09" "19.03" "19.09" "20.03" "20.09" "21.03" "21.05" "21.11" "22.05"
          "22.11" "23.05" "23.11" "24.05" "24.11" "25.05" "25.11" "26.05" ];
      };
      home.packages = mkOption { type = types.listOf types.package; default = [ ]; };
      home.sessionVariables = mkOption { type = with types; lazyAttrsOf (oneOf [ str path int float ]); default = { }; };
      home.sessionVariablesExtra = mkOption { type = types.lines; default = ""; };
      programs.home-manager.enable = lib.mkEnableOption "Home Manager";
      systemd.user.startServices = mkOption {
        type = with types; either bool (enum [ "suggest" "legacy" "sd-switch" ]);
        default = "suggest";
      };
      systemd.user.services = mkOption { type = unitType; default = { }; };
      nixpkgs.overlays = mkOption { type = types.nullOr (types.listOf overlayType); default = null; };
    };
  };

  homeManagerConfiguration = { pkgs, modules ? [ ], extraSpecialArgs ? { } }:
    let
      evaluated = lib.evalModules {
        modules = [
          hmCore
          ({ config, ... }: {
            _module.args.pkgs = lib.mkForce (if config.nixpkgs.overlays == null then pkgs
              else pkgs.appendOverlays config.nixpkgs.overlays);
          })
        ] ++ modules;
        specialArgs = extraSpecialArgs;
      };
      failed = map (a: a.message) (lib.filter (a: !a.assertion) evaluated.config.assertions);
    in
    evaluated // {
      activation =
        if failed != [ ] then throw "Failed assertions:\n- ${lib.concatStringsSep "\n- " failed}"
        else evaluated.config;
    };
in
{
  lib = { inherit homeManagerConfiguration; };
  inherit hmCore;
}
