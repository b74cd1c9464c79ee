# A stand-in for NixOS: the options the modules and the README's snippets touch that
# real NixOS declares, with NixOS' names and types (nixos/modules/misc/assertions.nix,
# misc/nixpkgs.nix, config/system-environment.nix, config/system-path.nix, system/etc,
# system/boot/systemd.nix + systemd-unit-options.nix, virtualisation/containerd.nix,
# services/cluster/k3s, services/cluster/kubernetes/kubelet.nix), and what
# virtualisation.containerd itself writes. No freeform anything: a definition of an
# option NixOS does not declare fails as it does on NixOS.
#   libPath: directory with nixpkgs' lib/
{ libPath, containerdVersion ? "2.1.4" }:
let
  lib = import (libPath + "/lib");
  inherit (lib) mkOption types;

  overlayType = lib.mkOptionType {
    name = "nixpkgs-overlay";
    check = lib.isFunction;
    merge = lib.mergeOneOption;
  };

  unitValue = with types; oneOf [ bool int str path package (listOf (oneOf [ bool int str path package ])) ];
  unitNames = mkOption { type = types.listOf types.str; default = [ ]; };
  serviceOptions = {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      description = mkOption { type = types.singleLineStr; default = ""; };
      wantedBy = unitNames;
      requiredBy = unitNames;
      wants = unitNames;
      requires = unitNames;
      after = unitNames;
      before = unitNames;
      partOf = unitNames;
      bindsTo = unitNames;
      unitConfig = mkOption { type = types.attrsOf unitValue; default = { }; };
      serviceConfig = mkOption { type = types.attrsOf unitValue; default = { }; };
      environment = mkOption { type = with types; attrsOf (nullOr (oneOf [ str path package ])); default = { }; };
      path = mkOption { type = with types; listOf (oneOf [ package str ]); default = [ ]; };
      restartTriggers = mkOption { type = types.listOf types.unspecified; default = [ ]; };
      script = mkOption { type = types.lines; default = ""; };
    };
  };

  nixosCore = { config, pkgs, ... }: {
    options = {
      assertions = mkOption { type = types.listOf types.unspecified; internal = true; default = [ ]; };
      warnings = mkOption { type = types.listOf types.str; internal = true; default = [ ]; };
      nixpkgs.overlays = mkOption { type = types.listOf overlayType; default = [ ]; };
      nixpkgs.system = mkOption { type = types.str; default = "x86_64-linux"; };
      nix.package = mkOption { type = types.package; default = pkgs.nix; };
      environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
      environment.extraInit = mkOption { type = types.lines; default = ""; };
      environment.etc = mkOption {
        type = types.attrsOf (types.submodule {
          options = {
            enable = mkOption { type = types.bool; default = true; };
            source = mkOption { type = types.path; };
            text = mkOption { type = types.nullOr types.lines; default = null; };
            mode = mkOption { type = types.str; default = "symlink"; };
          };
        });
        default = { };
      };
      systemd.services = mkOption { type = types.attrsOf (types.submodule serviceOptions); default = { }; };
      systemd.user.services = mkOption { type = types.attrsOf (types.submodule serviceOptions); default = { }; };
      boot.kernel.sysctl = mkOption { type = with types; attrsOf (nullOr (oneOf [ bool str int ])); default = { }; };
      networking.proxy.envVars = mkOption { type = types.attrs; internal = true; default = { }; };

      virtualisation.containerd = {
        # No `package`: NixOS' module runs pkgs.containerd (the modules read
        # virtualisation.containerd.package only where it exists).
        enable = lib.mkEnableOption "containerd container runtime";
        configFile = mkOption { type = types.nullOr types.path; default = null; };
        settings = mkOption { type = (pkgs.formats.toml { }).type; default = { }; };
        args = mkOption { type = types.attrsOf types.str; default = { }; };
      };

      services.k3s = {
        enable = lib.mkEnableOption "k3s";
        package = lib.mkPackageOption pkgs "k3s" { };
        role = mkOption { type = types.enum [ "server" "agent" ]; default = "server"; };
        extraFlags = mkOption { type = with types; either str (listOf str); default = [ ]; };
        configPath = mkOption { type = types.nullOr types.path; default = null; };
      };

      services.kubernetes.kubelet = {
        enable = lib.mkEnableOption "kubelet";
        extraOpts = mkOption { type = types.separatedString " "; default = ""; };
      };
    };

    config = {
      _module.args.pkgs = import ./pkgs.nix {
        inherit libPath containerdVersion;
        system = config.nixpkgs.system;
        overlays = config.nixpkgs.overlays;
      };

      # What NixOS' containerd module does with these options.
      virtualisation.containerd = lib.mkIf config.virtualisation.containerd.enable {
        settings = {
          version = 2;
          plugins."io.containerd.grpc.v1.cri".cni.bin_dir = lib.mkOptionDefault "${pkgs.cni-plugins}/bin";
        };
        args.config = toString (if config.virtualisation.containerd.configFile != null
          then config.virtualisation.containerd.configFile
          else (pkgs.formats.toml { }).generate "containerd.toml" config.virtualisation.containerd.settings);
      };
      environment.systemPackages = lib.mkIf config.virtualisation.containerd.enable [ pkgs.containerd ];
      systemd.services.containerd = lib.mkIf config.virtualisation.containerd.enable {
        description = "containerd - container runtime";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        path = [ pkgs.containerd pkgs.runc pkgs.iptables ];
        serviceConfig = {
          ExecStart = "${pkgs.containerd}/bin/containerd "
            + lib.concatStringsSep " " (lib.mapAttrsToList (n: v: "--${n} ${v}") config.virtualisation.containerd.args);
          Type = "notify";
          Delegate = "yes";
          KillMode = "process";
          Restart = "always";
        };
      };
    };
  };

  # Like nixos/lib/eval-config.nix: evaluates, and fails on failed assertions as the
  # system's toplevel does.
  evalNixOS = { modules, system ? "x86_64-linux", specialArgs ? { } }:
    let
      evaluated = lib.evalModules {
        modules = [ nixosCore { nixpkgs.system = lib.mkDefault system; } ] ++ modules;
        inherit specialArgs;
      };
      failed = map (a: a.message) (lib.filter (a: !a.assertion) evaluated.config.assertions);
    in
    evaluated // {
      toplevel =
        if failed != [ ] then throw "Failed assertions:\n- ${lib.concatStringsSep "\n- " failed}"
        else evaluated.config;
    };
in
{
  inherit lib evalNixOS nixosCore;
  # nixpkgs.lib.nixosSystem, for flake snippets.
  nixosSystem = args: evalNixOS {
    modules = args.modules;
    system = args.system or "x86_64-linux";
    specialArgs = args.specialArgs or { };
  };
}
