# Evaluates the NixOS and Home Manager modules against tests/nix/stub-module-lib.nix
# and a stand-in pkgs made of fake derivations (evaluation only, nothing is built).
# Result: { failures = [ "what went wrong" ... ]; count = <checks run>; }
let
  stub = import ./stub-module-lib.nix;
  inherit (stub) lib;

  fakeDrv = name: extra: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}";
  } // extra;

  mkPkgs = { containerdVersion ? "1.7.24" }: {
    formats.toml = { }: {
      type = "toml-value";
      # The value is kept so tests can read what would be written.
      generate = name: value: fakeDrv name { settingsValue = value; };
    };
    # The script's text is kept in its (fake) store path, so a unit's ExecStart string
    # shows what would run: "/nix/store/<hash>-<name>{{<text>}}".
    writeShellScript = name: text: fakeDrv name { } // {
      outPath = "${(fakeDrv name { }).outPath}{{${text}}}";
    };
    writeText = name: text: fakeDrv name { inherit text; };
    containerd = fakeDrv "containerd-${containerdVersion}" { version = containerdVersion; };
    nix-snapshotter = fakeDrv "nix-snapshotter-0.1.0" { };
    nix = fakeDrv "nix-2.24.0" { };
    callPackage = _: _: throw "pkgs.nix-snapshotter exists: callPackage must not be used";
  } // builtins.listToAttrs (map (name: { inherit name; value = fakeDrv name { }; })
    [ "rootlesskit" "slirp4netns" "runc" "util-linux" "fuse-overlayfs" "coreutils" ]);

  image = fakeDrv "nix-image-hello.tar" { };
  image2 = fakeDrv "nix-image-pause.tar" { };

  rootfulModule = ../../modules/nixos/nix-snapshotter.nix;
  rootlessModule = ../../modules/nixos/nix-snapshotter-rootless.nix;
  homeModule = ../../modules/home/nix-snapshotter.nix;

  # NixOS options the modules read or set under conditions (the rest merge by shape).
  nixosBase = {
    options.services.kubernetes.kubelet.extraOpts = lib.mkOption { default = ""; };
    config.nix.package = fakeDrv "nix-2.24.0" { };
  };

  eval = { modules, pkgs ? mkPkgs { } }:
    stub.evalModules { inherit modules; args = { inherit pkgs; }; };

  # --- rootful, everything on.
  full = eval {
    modules = [
      rootfulModule
      rootlessModule
      nixosBase
      {
        services.nix-snapshotter = {
          enable = true;
          setContainerdSnapshotter = true;
          setKubeletImageServiceEndpoint = true;
          preloadContainerdImages = [ image image2 ];
          preloadNamespaces = [ "default" "k8s.io" ];
          settings.log_level = "debug";
        };
      }
    ];
  };
  fc = full.cleaned;
  unit = fc.systemd.services.nix-snapshotter;
  configFile = fc.environment.etc."nix-snapshotter/config.toml".source;
  preload = fc.systemd.services.nix-snapshotter-preload-images;

  # --- rootful, custom address, CRI snapshotter untouched, no preload.
  custom = (eval {
    modules = [
      rootfulModule
      nixosBase
      {
        services.nix-snapshotter = {
          enable = true;
          settings.address = "/run/snap/custom.sock";
          settings.image_service.enable = false;
        };
      }
    ];
  }).cleaned;

  disabled = (eval { modules = [ rootfulModule rootlessModule nixosBase ]; }).cleaned;

  oldContainerd = (eval {
    pkgs = mkPkgs { containerdVersion = "1.6.20"; };
    modules = [ rootfulModule nixosBase { services.nix-snapshotter.enable = true; } ];
  }).cleaned;

  # --- rootless NixOS.
  rootless = (eval {
    modules = [
      rootfulModule
      rootlessModule
      nixosBase
      {
        services.nix-snapshotter.rootless = {
          enable = true;
          preloadContainerdImages = [ image ];
        };
      }
    ];
  }).cleaned;
  rl = rootless.systemd.user.services;
  rootlessWithRoot = (eval {
    modules = [
      rootlessModule
      nixosBase
      { services.nix-snapshotter.rootless = { enable = true; settings.root = "/srv/snap"; }; }
    ];
  }).cleaned;

  # --- Home Manager.
  home = (eval {
    modules = [
      homeModule
      {
        services.nix-snapshotter = {
          enable = true;
          setContainerdSnapshotter = true;
          preloadContainerdImages = [ image ];
        };
      }
    ];
  }).cleaned;
  hm = home.systemd.user.services;
  homeOld = (eval {
    pkgs = mkPkgs { containerdVersion = "1.6.20"; };
    modules = [ homeModule { services.nix-snapshotter.enable = true; } ];
  }).cleaned;

  contains = needle: haystack: builtins.match ".*${needle}.*" (builtins.replaceStrings [ "\n" ] [ " " ] haystack) != null;
  allTrue = list: builtins.all (a: a.assertion) list;

  pkgs = mkPkgs { };

  checks = [
    # rootful
    { name = "rootful unit is Type=notify"; ok = unit.serviceConfig.Type == "notify"; }
    { name = "rootful unit restarts always"; ok = unit.serviceConfig.Restart == "always"; }
    {
      name = "rootful ExecStart passes the generated config";
      ok = unit.serviceConfig.ExecStart == "${pkgs.nix-snapshotter}/bin/nix-snapshotter --config ${configFile}";
    }
    { name = "rootful unit wants and follows containerd"; ok = builtins.elem "containerd.service" unit.wants && builtins.elem "containerd.service" unit.after; }
    { name = "rootful unit is started at boot"; ok = unit.wantedBy == [ "multi-user.target" ]; }
    {
      name = "rootful settings: defaults from DESIGN.md plus user keys";
      ok = configFile.settingsValue == {
        address = "/run/nix-snapshotter/nix-snapshotter.sock";
        root = "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
        image_service = { enable = true; containerd_address = "/run/containerd/containerd.sock"; };
        log_level = "debug";
      };
    }
    {
      name = "containerd gets the proxy plugin and the CRI snapshotter";
      ok = fc.virtualisation.containerd.settings == {
        proxy_plugins.nix = { type = "snapshot"; address = "/run/nix-snapshotter/nix-snapshotter.sock"; };
        plugins."io.containerd.grpc.v1.cri".containerd = {
          snapshotter = "nix";
          disable_snapshot_annotations = false;
        };
      };
    }
    { name = "containerd is enabled"; ok = fc.virtualisation.containerd.enable; }
    { name = "assertions hold with containerd 1.7"; ok = allTrue fc.assertions; }
    {
      name = "kubelet gets the image service endpoint";
      ok = fc.services.kubernetes.kubelet.extraOpts
        == "--image-service-endpoint=unix:///run/nix-snapshotter/nix-snapshotter.sock";
    }
    {
      name = "imageServiceEndpoint";
      ok = fc.services.nix-snapshotter.imageServiceEndpoint == "unix:///run/nix-snapshotter/nix-snapshotter.sock";
    }
    { name = "package on the system path"; ok = fc.environment.systemPackages == [ pkgs.nix-snapshotter ]; }
    { name = "unit has nix-store on its PATH"; ok = builtins.elem nixosBase.config.nix.package unit.path; }
    {
      name = "preload unit runs after the snapshotter, once";
      ok = preload.serviceConfig.Type == "oneshot" && builtins.elem "nix-snapshotter.service" preload.after;
    }
    {
      name = "preload script loads every image into every namespace";
      ok = contains "for namespace in 'default' 'k8s.io'" preload.serviceConfig.ExecStart
        && contains "for image in '${image}' '${image2}'" preload.serviceConfig.ExecStart
        && contains "nix2container --address '/run/containerd/containerd.sock' --namespace \"[$]namespace\"" preload.serviceConfig.ExecStart;
    }
    { name = "rootless units stay off"; ok = !(fc ? systemd.user); }
    { name = "only declared options are set (rootful)"; ok = full.undeclaredUnder [ "services" "nix-snapshotter" ] == [ ]; }
    # custom
    {
      name = "custom address reaches containerd and the endpoint";
      ok = custom.virtualisation.containerd.settings.proxy_plugins.nix.address == "/run/snap/custom.sock"
        && custom.services.nix-snapshotter.imageServiceEndpoint == "unix:///run/snap/custom.sock";
    }
    { name = "CRI snapshotter untouched unless asked"; ok = !(custom.virtualisation.containerd.settings ? plugins); }
    {
      name = "user settings override defaults";
      ok = custom.environment.etc."nix-snapshotter/config.toml".source.settingsValue.image_service
        == { enable = false; containerd_address = "/run/containerd/containerd.sock"; };
    }
    { name = "no preload unit without images"; ok = !(custom.systemd.services ? nix-snapshotter-preload-images); }
    { name = "kubelet untouched unless asked"; ok = custom.services.kubernetes.kubelet.extraOpts == ""; }
    # disabled
    { name = "disabled module defines no units"; ok = !(disabled ? systemd) && !(disabled ? virtualisation); }
    # old containerd
    {
      name = "containerd 1.6 fails an assertion naming 1.7";
      ok = builtins.any (a: !a.assertion && contains "containerd 1.7 or newer" a.message) oldContainerd.assertions;
    }
    # rootless NixOS
    { name = "rootless snapshotter is a notify user unit"; ok = rl.nix-snapshotter.serviceConfig.Type == "notify"; }
    { name = "rootless snapshotter follows user containerd"; ok = builtins.elem "containerd.service" rl.nix-snapshotter.after; }
    {
      name = "rootless snapshotter joins containerd's namespaces with its per-user root";
      ok = contains "nsenter --user --preserve-credentials --mount --net" rl.nix-snapshotter.serviceConfig.ExecStart
        && contains "--root \"[$]data/containerd/io.containerd.snapshotter.v1.nix\"" rl.nix-snapshotter.serviceConfig.ExecStart
        && contains "NIX_REMOTE=daemon" rl.nix-snapshotter.serviceConfig.ExecStart;
    }
    {
      name = "rootless settings use fuse-overlayfs and in-namespace paths";
      ok = rootless.services.nix-snapshotter.rootless.settings == {
        address = "/run/nix-snapshotter/nix-snapshotter.sock";
        fuse_overlayfs = true;
        image_service = { enable = true; containerd_address = "/run/containerd/containerd.sock"; };
      };
    }
    { name = "rootless containerd runs under rootlesskit"; ok = contains "exec rootlesskit" rl.containerd.serviceConfig.ExecStart; }
    { name = "rootless preload uses the user's containerd socket"; ok = contains "--address \"[$]XDG_RUNTIME_DIR/containerd/containerd.sock\"" rl.nix-snapshotter-preload-images.serviceConfig.ExecStart; }
    { name = "rootless leaves the system units alone"; ok = !(rootless ? systemd.services.nix-snapshotter); }
    { name = "rootless with settings.root passes no --root"; ok = !(contains "--root" rootlessWithRoot.systemd.user.services.nix-snapshotter.serviceConfig.ExecStart); }
    # Home Manager
    { name = "home: units start with default.target"; ok = hm.containerd.Install.WantedBy == [ "default.target" ] && hm.nix-snapshotter.Install.WantedBy == [ "default.target" ]; }
    { name = "home: snapshotter is Type=notify after containerd"; ok = hm.nix-snapshotter.Service.Type == "notify" && hm.nix-snapshotter.Unit.After == [ "containerd.service" ]; }
    { name = "home: containerd under rootlesskit"; ok = contains "exec rootlesskit" hm.containerd.Service.ExecStart; }
    {
      name = "home: containerd settings (version 2, proxy plugin, CRI snapshotter)";
      ok = home.services.nix-snapshotter.containerdSettings == {
        version = 2;
        proxy_plugins.nix = { type = "snapshot"; address = "/run/nix-snapshotter/nix-snapshotter.sock"; };
        plugins."io.containerd.grpc.v1.cri".containerd = { snapshotter = "nix"; disable_snapshot_annotations = false; };
      };
    }
    { name = "home: fuse_overlayfs on"; ok = home.services.nix-snapshotter.settings.fuse_overlayfs; }
    { name = "home: preload unit"; ok = hm.nix-snapshotter-preload-images.Service.Type == "oneshot"; }
    { name = "home: packages"; ok = builtins.elem pkgs.nix-snapshotter home.home.packages; }
    { name = "home: assertions hold"; ok = allTrue home.assertions; }
    { name = "home: containerd 1.6 fails an assertion"; ok = !(allTrue homeOld.assertions); }
  ];
in
{
  count = builtins.length checks;
  failures = map (c: c.name) (builtins.filter (c: !c.ok) checks);
}
