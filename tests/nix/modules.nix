# Evaluates the NixOS and Home Manager modules with nixpkgs' real module system (lib from
# nix-community/nixpkgs.lib) against the stand-ins in ./standins (only options real
# NixOS / Home Manager declare), starting with the README's four installation snippets
# (./readme-snippets, verbatim).
#   libPath: a directory holding nixpkgs' lib/ (tests/nix/run.sh passes $NIXSNAP_NIXPKGS_LIB)
#   tmpDir:  where the rendered configs' state would go (renders, for the real programs)
# Result: { count; failures = [ names ]; summaries = { snippet = "one line"; };
#           renders = { name = text; }; }
{ libPath, tmpDir ? "/tmp/nixsnap-render" }:
let
  lib = import (libPath + "/lib");
  repo = ../..;
  nixos = import ./standins/nixos.nix { inherit libPath; };
  nixosWith = containerdVersion: import ./standins/nixos.nix { inherit libPath containerdVersion; };
  hm = import ./standins/home-manager.nix { inherit libPath; };
  pkgsFor = args: import ./standins/pkgs.nix ({ inherit libPath; } // args);
  toTOML = import ./standins/toml.nix { inherit lib; };
  units = import ../../nix/units.nix { inherit lib; };

  # --- the flake, as a flake input and through default.nix ---------------------------
  nixpkgsInput = {
    outPath = ./standins/nixpkgs;
    lib = lib // { inherit (nixos) nixosSystem; };
  };
  flake = (import ../../flake.nix).outputs { self = flake // { outPath = repo; }; nixpkgs = nixpkgsInput; };
  homeManagerInput = hm // { outPath = ./standins; };

  # --- the README's snippets ----------------------------------------------------------
  nixosFlakeSnippet = ((import ./readme-snippets/nixos-flake.nix).outputs {
    self = { };
    nixpkgs = nixpkgsInput;
    nix-snapshotter = flake;
  }).nixosConfigurations.myhost;
  hmFlakeSnippet = ((import ./readme-snippets/home-manager-flake.nix).outputs {
    self = { };
    nixpkgs = nixpkgsInput;
    home-manager = homeManagerInput;
    nix-snapshotter = flake;
  }).homeConfigurations.myuser;
  # `builtins.fetchTarball "…/main.tar.gz"` gives this repository (and so ./default.nix).
  nonFlake = file: scopedImport {
    builtins = builtins // { fetchTarball = _: repo; };
  } file;
  nixosNonFlakeSnippet = nixos.evalNixOS { modules = [ (nonFlake ./readme-snippets/nixos-non-flake.nix) ]; };
  hmNonFlakeSnippet = hm.lib.homeManagerConfiguration {
    pkgs = pkgsFor { };
    modules = [
      (nonFlake ./readme-snippets/home-manager-non-flake.nix)
      # What every Home Manager configuration sets (the flake snippet sets it too).
      { home = { username = "myuser"; homeDirectory = "/home/myuser"; stateVersion = "23.11"; }; }
    ];
  };

  # --- helpers --------------------------------------------------------------------------
  # Whether evaluating x fails (as an undeclared option or a failed assertion does).
  fails = x: !(builtins.tryEval (builtins.deepSeq x x)).success;
  has = needle: haystack: lib.hasInfix needle haystack;
  textOf = drv: drv.text;

  cri2 = s: s.plugins."io.containerd.grpc.v1.cri";

  # --- NixOS snippet: what it rendered ---------------------------------------------------
  nf = nixosFlakeSnippet.toplevel;
  nfd = nixosFlakeSnippet.config;
  nfCtr = nf.virtualisation.containerd.settings;
  nfUnit = nf.systemd.services.nix-snapshotter;

  checkNixOSSnippet = name: c: [
    { name = "${name}: nix-snapshotter unit runs the overlay's package with the generated config";
      ok = c.systemd.services.nix-snapshotter.serviceConfig.ExecStart
        == "${c.services.nix-snapshotter.package}/bin/nix-snapshotter --config ${c.services.nix-snapshotter.configFile}"
        && has "nix-snapshotter-0.4.0" c.services.nix-snapshotter.package.name; }
    { name = "${name}: unit is Type=notify, wanted by multi-user.target, after containerd";
      ok = c.systemd.services.nix-snapshotter.serviceConfig.Type == "notify"
        && c.systemd.services.nix-snapshotter.wantedBy == [ "multi-user.target" ]
        && lib.elem "containerd.service" c.systemd.services.nix-snapshotter.after; }
    { name = "${name}: unit PATH has nix";
      ok = lib.elem c.nix.package.outPath (map (p: p.outPath) c.systemd.services.nix-snapshotter.path)
        || lib.any (p: has "-nix-2" p.outPath) c.systemd.services.nix-snapshotter.path; }
    { name = "${name}: config.toml has socket, root and image service";
      ok = textOf c.services.nix-snapshotter.configFile == ''
        address = "/run/nix-snapshotter/nix-snapshotter.sock"
        root = "/var/lib/containerd/io.containerd.snapshotter.v1.nix"

        [image_service]
        containerd_address = "/run/containerd/containerd.sock"
        enable = true
      ''; }
    { name = "${name}: /etc/nix-snapshotter/config.toml";
      ok = c.environment.etc."nix-snapshotter/config.toml".source == c.services.nix-snapshotter.configFile; }
    { name = "${name}: containerd proxy plugin nix with exports.root";
      ok = c.virtualisation.containerd.settings.proxy_plugins.nix == {
        type = "snapshot";
        address = "/run/nix-snapshotter/nix-snapshotter.sock";
        exports.root = "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
      }; }
    { name = "${name}: CRI (config version 2) unpacks with nix and passes annotations";
      ok = c.virtualisation.containerd.settings.version == 2
        && (cri2 c.virtualisation.containerd.settings).containerd.snapshotter == "nix"
        && (cri2 c.virtualisation.containerd.settings).containerd.disable_snapshot_annotations == false; }
    { name = "${name}: transfer service unpacks linux/amd64 with nix";
      ok = c.virtualisation.containerd.settings.plugins."io.containerd.transfer.v1.local".unpack_config
        == [{ platform = "linux/amd64"; snapshotter = "nix"; }]; }
    { name = "${name}: CRI default runtime runc, NixOS' CNI bin_dir kept";
      ok = (cri2 c.virtualisation.containerd.settings).containerd.default_runtime_name == "runc"
        && has "cni-plugins/bin" (cri2 c.virtualisation.containerd.settings).cni.bin_dir; }
    { name = "${name}: login shells get CONTAINERD_ADDRESS and CONTAINERD_SNAPSHOTTER=nix";
      ok = has ''export CONTAINERD_ADDRESS="/run/containerd/containerd.sock"'' c.environment.extraInit
        && has ''export CONTAINERD_SNAPSHOTTER="nix"'' c.environment.extraInit
        && !(has "CONTAINERD_NAMESPACE" c.environment.extraInit); }
    { name = "${name}: containerd unit reads the rendered config";
      ok = has "--config /nix/store/" c.systemd.services.containerd.serviceConfig.ExecStart; }
    { name = "${name}: nerdctl and nix-snapshotter installed";
      ok = lib.any (p: p.name == "nerdctl") c.environment.systemPackages
        && lib.elem c.services.nix-snapshotter.package c.environment.systemPackages; }
    { name = "${name}: no warnings"; ok = c.warnings == [ ]; }
  ];

  nnf = nixosNonFlakeSnippet.toplevel;

  # --- Home Manager snippet ---------------------------------------------------------------
  hf = hmFlakeSnippet.activation;
  hnf = hmNonFlakeSnippet.activation;
  checkHMSnippet = name: c:
    let
      ctrd = c.systemd.user.services.containerd;
      snap = c.systemd.user.services.nix-snapshotter;
      rootlessCtr = c.virtualisation.containerd.rootless;
      ctrdConfig = rootlessCtr.args.config;
      settings = rootlessCtr.settings;
    in
    [
      { name = "${name}: containerd user unit (notify, rootlesskit, default.target)";
        ok = ctrd.Service.Type == "notify" && ctrd.Install.WantedBy == [ "default.target" ]
          && has "containerd-rootless" ctrd.Service.ExecStart; }
      { name = "${name}: nix-snapshotter user unit after/part of containerd, through containerd-nsenter";
        ok = snap.Unit.After == [ "containerd.service" ] && snap.Unit.PartOf == [ "containerd.service" ]
          && snap.Install.WantedBy == [ "default.target" ] && snap.Service.Type == "notify"; }
      { name = "${name}: rootless containerd settings: version 3 (containerd 2.x), nix proxy + CRI images + transfer";
        ok = settings.version == 3
          && settings.proxy_plugins.nix.address == "/run/nix-snapshotter/nix-snapshotter.sock"
          && settings.proxy_plugins.nix.exports.root == "/var/lib/containerd/io.containerd.snapshotter.v1.nix"
          && settings.plugins."io.containerd.cri.v1.images".snapshotter == "nix"
          && settings.plugins."io.containerd.cri.v1.images".disable_snapshot_annotations == false
          && settings.plugins."io.containerd.transfer.v1.local".unpack_config == [{ platform = "linux/amd64"; snapshotter = "nix"; }]; }
      { name = "${name}: rootless CRI tuning";
        ok = settings.plugins."io.containerd.cri.v1.runtime".disable_apparmor
          && settings.plugins."io.containerd.cri.v1.runtime".restrict_oom_score_adj; }
      { name = "${name}: bind mounts incl. the snapshotter's socket dir (none over gcroots/auto)";
        ok = lib.mapAttrs (_: m: m.mountPoint) rootlessCtr.bindMounts == {
          "$XDG_RUNTIME_DIR/containerd" = "/run/containerd";
          "$XDG_RUNTIME_DIR/nix-snapshotter" = "/run/nix-snapshotter";
          "$XDG_DATA_HOME/containerd" = "/var/lib/containerd";
          "$XDG_DATA_HOME/cni" = "/var/lib/cni";
          "$XDG_CONFIG_HOME/cni" = "/etc/cni";
        }; }
      { name = "${name}: session exports CONTAINERD_ADDRESS (user's socket) and SNAPSHOTTER=nix";
        ok = has ''export CONTAINERD_ADDRESS="$XDG_RUNTIME_DIR/containerd/containerd.sock"'' c.home.sessionVariablesExtra
          && has ''export CONTAINERD_SNAPSHOTTER="nix"'' c.home.sessionVariablesExtra; }
      { name = "${name}: snapshotter settings: mount type detected at start, image service to the rootless containerd";
        ok = c.services.nix-snapshotter.rootless.settings == {
          address = "/run/nix-snapshotter/nix-snapshotter.sock";
          image_service = { enable = true; containerd_address = "/run/containerd/containerd.sock"; };
        }; }
      { name = "${name}: containerd gets --config with the rendered file";
        ok = lib.hasPrefix "/nix/store/" ctrdConfig && lib.hasSuffix "-containerd-rootless.toml" ctrdConfig; }
      { name = "${name}: nerdctl, containerd and nix-snapshotter in home.packages";
        ok = lib.sort (a: b: a < b) (map (p: p.pname or (builtins.parseDrvName p.name).name) c.home.packages)
          == [ "containerd" "nerdctl" "nix-snapshotter" ]; }
      { name = "${name}: no warnings"; ok = c.warnings == [ ]; }
    ];

  # --- more NixOS cases --------------------------------------------------------------------
  evalNixOS = { modules, containerdVersion ? "2.1.4" }:
    (nosWith containerdVersion).evalNixOS {
      modules = [ flake.nixosModules.default { nixpkgs.overlays = [ flake.overlays.default ]; } ] ++ modules;
    };
  nosWith = nixosWith;
  image = (pkgsFor { }).writeText "nix-image-hello.tar" "image";
  image2 = (pkgsFor { }).writeText "nix-image-pause.tar" "pause";

  full = (evalNixOS {
    containerdVersion = "1.7.24";
    modules = [{
      virtualisation.containerd = {
        enable = true;
        nixSnapshotterIntegration = true;
        k3sIntegration = true;
        gVisorIntegration = true;
        defaultRuntime = "runsc";
      };
      services.k3s.enable = true;
      services.kubernetes.kubelet.enable = true;
      services.nix-snapshotter = {
        enable = true;
        setKubeletImageServiceEndpoint = true;
        settings.log_level = "debug";
        extraFlags = [ "--log-level" "trace" ];
      };
      services.preload-containerd = {
        enable = true;
        targets = [
          { archives = [ image ]; }
          { archives = [ image image2 ]; namespace = "k8s.io"; address = "/run/k3s/containerd/containerd.sock"; }
        ];
      };
    }];
  }).toplevel;
  fullCri = cri2 full.virtualisation.containerd.settings;
  # The stand-in's store paths hash the script's text: equal paths, equal scripts.
  preloadScript = import ../../nix/preload-script.nix {
    inherit lib;
    inherit (pkgsFor { }) writeShellScriptBin;
    package = full.services.nix-snapshotter.package;
    targets = full.services.preload-containerd.targets;
  };

  noImageService = (evalNixOS {
    modules = [{
      virtualisation.containerd = { enable = true; nixSnapshotterIntegration = true; k3sIntegration = true; };
      services.k3s.enable = true;
      services.nix-snapshotter = { enable = true; settings.image_service.enable = false; };
    }];
  }).toplevel;

  # A preload address may use $VARS but run no command (nix/shell-word.nix).
  preloadAt = address: (evalNixOS {
    containerdVersion = "1.7.24";
    modules = [{
      virtualisation.containerd = { enable = true; nixSnapshotterIntegration = true; };
      services.nix-snapshotter.enable = true;
      services.preload-containerd = {
        enable = true;
        targets = [{ archives = [ image ]; inherit address; }];
      };
    }];
  }).toplevel.systemd.services.preload-containerd.serviceConfig.ExecStart;

  oldContainerd = (evalNixOS {
    containerdVersion = "1.6.24";
    modules = [{
      virtualisation.containerd = { enable = true; nixSnapshotterIntegration = true; };
      services.nix-snapshotter.enable = true;
    }];
  }).toplevel;

  # NixOS writes configFile instead of the settings when it is set.
  ownConfigFile = integrations: (evalNixOS {
    modules = [{
      virtualisation.containerd = { enable = true; configFile = "/etc/containerd/own.toml"; } // integrations;
      services.nix-snapshotter.enable = integrations ? nixSnapshotterIntegration;
    }];
  }).toplevel;

  renamed = evalNixOS {
    modules = [{
      virtualisation.containerd.enable = true;
      services.nix-snapshotter = { enable = true; setContainerdSnapshotter = true; };
    }];
  };

  removedPreload = (evalNixOS {
    modules = [{ services.nix-snapshotter = { enable = true; preloadContainerdImages = [ image ]; }; }];
  }).toplevel;

  undeclared = (evalNixOS {
    modules = [{ virtualisation.containerd = { enable = true; notAnOption = true; }; }];
  }).toplevel;

  rootlessFor = containerdVersion: (evalNixOS {
    inherit containerdVersion;
    modules = [{
      virtualisation.containerd.rootless = { enable = true; nixSnapshotterIntegration = true; setNamespace = "k8s.io"; };
      services.nix-snapshotter.rootless = { enable = true; settings.log_level = "debug"; };
      services.preload-containerd.rootless = {
        enable = true;
        targets = [{ archives = [ image ]; address = "$XDG_RUNTIME_DIR/containerd/containerd.sock"; }];
      };
    }];
  }).toplevel;
  rootless2 = rootlessFor "2.1.4";
  rootless17 = rootlessFor "1.7.24";

  k3sRootless = (evalNixOS {
    modules = [{ services.k3s.rootless = { enable = true; setKubeConfig = true; snapshotter = "nix"; }; }];
  }).toplevel;

  # --- Home Manager: this project's earlier option names --------------------------------
  hmOld = hm.lib.homeManagerConfiguration {
    pkgs = pkgsFor { };
    modules = [
      flake.homeModules.default
      {
        home = { username = "u"; homeDirectory = "/home/u"; stateVersion = "23.11"; };
        nixpkgs.overlays = [ flake.overlays.default ];
        virtualisation.containerd.rootless.enable = true;
        services.nix-snapshotter.rootless.enable = true;
        services.nix-snapshotter.setContainerdSnapshotter = true;
        services.nix-snapshotter.settings.log_level = "debug";
      }
    ];
  };
  hmUndeclared = (hm.lib.homeManagerConfiguration {
    pkgs = pkgsFor { };
    modules = [
      flake.homeModules.default
      {
        home = { username = "u"; homeDirectory = "/home/u"; stateVersion = "23.11"; };
        # Rootful containerd is NixOS': Home Manager has no such option.
        virtualisation.containerd.enable = true;
      }
    ];
  }).activation;

  hmK3s = (hm.lib.homeManagerConfiguration {
    pkgs = pkgsFor { };
    modules = [
      flake.homeModules.default
      flake.homeModules.k3s-rootless
      {
        home = { username = "u"; homeDirectory = "/home/u"; stateVersion = "23.11"; };
        nixpkgs.overlays = [ flake.overlays.default ];
        services.k3s.rootless = { enable = true; setEmbeddedContainerd = true; extraFlags = [ "--disable" "traefik" ]; };
        virtualisation.containerd.rootless = { enable = true; gVisorIntegration = true; defaultRuntime = "runsc"; };
      }
    ];
  }).activation;

  # --- default.nix ----------------------------------------------------------------------------
  nonFlakeImport = import ../../default.nix;

  checks =
    checkNixOSSnippet "NixOS flake snippet" nf
    ++ checkNixOSSnippet "NixOS non-flake snippet" nnf
    ++ checkHMSnippet "Home Manager flake snippet" hf
    ++ checkHMSnippet "Home Manager non-flake snippet" hnf
    ++ [
      { name = "NixOS snippets render the same"; ok = nf.virtualisation.containerd.settings == nnf.virtualisation.containerd.settings; }
      { name = "Home Manager flake snippet: systemd.user.startServices"; ok = hf.systemd.user.startServices == "sd-switch"; }

      # full rootful
      { name = "full: containerd 1.7 settings keep the nix CRI snapshotter and gVisor runtime";
        ok = fullCri.containerd.snapshotter == "nix" && fullCri.containerd.default_runtime_name == "runsc"
          && fullCri.containerd.runtimes.runsc.runtime_type == "io.containerd.runsc.v1"
          && full.systemd.services.containerd.path != [ ]; }
      { name = "full: k3s on the external containerd with nix-snapshotter's image service";
        ok = full.services.k3s.extraFlags
          == "--container-runtime-endpoint unix:///run/containerd/containerd.sock --image-service-endpoint unix:///run/nix-snapshotter/nix-snapshotter.sock"; }
      { name = "full: k3s containerd settings (CNI dirs of k3s, pause image)";
        ok = fullCri.cni.conf_dir == "/var/lib/rancher/k3s/agent/etc/cni/net.d/" && fullCri.sandbox_image == "rancher/mirrored-pause:3.6"; }
      { name = "full: namespace k8s.io exported for k3s";
        ok = has ''export CONTAINERD_NAMESPACE="k8s.io"'' full.environment.extraInit; }
      { name = "full: kubelet gets --image-service-endpoint";
        ok = full.services.kubernetes.kubelet.extraOpts == "--image-service-endpoint=unix:///run/nix-snapshotter/nix-snapshotter.sock"; }
      { name = "full: extraFlags follow --config";
        ok = lib.hasSuffix "-config.toml --log-level trace" full.systemd.services.nix-snapshotter.serviceConfig.ExecStart; }
      { name = "full: log_level reaches config.toml";
        ok = has ''log_level = "debug"'' full.services.nix-snapshotter.configFile.text; }
      { name = "full: preload script loads each target's archives into its socket and namespace";
        ok = full.systemd.services.preload-containerd.serviceConfig.ExecStart == "${preloadScript}/bin/preload-containerd"
          && builtins.length (lib.filter (l: has "load /nix/store/" l) (lib.splitString "\n" preloadScript.text)) == 3
          && has ''--address /run/k3s/containerd/containerd.sock --namespace k8s.io'' preloadScript.text
          && has ''--address /run/containerd/containerd.sock --namespace default'' preloadScript.text; }
      { name = "full: preload unit after containerd and nix-snapshotter, oneshot";
        ok = full.systemd.services.preload-containerd.serviceConfig.Type == "oneshot"
          && full.systemd.services.preload-containerd.after == [ "containerd.service" "nix-snapshotter.service" ]; }
      { name = "image_service.enable = false: no --image-service-endpoint for k3s";
        ok = noImageService.services.k3s.extraFlags == "--container-runtime-endpoint unix:///run/containerd/containerd.sock"; }
      { name = "containerd 1.6 with nixSnapshotterIntegration fails its assertion"; ok = fails oldContainerd; }
      { name = "a preload address with command substitution is refused at evaluation, a $VAR one is not";
        ok = fails (preloadAt "$(touch /tmp/pwned)") && !(fails (preloadAt "$XDG_RUNTIME_DIR/c.sock")); }
      { name = "old name setContainerdSnapshotter still works, with a warning";
        ok = renamed.toplevel.virtualisation.containerd.nixSnapshotterIntegration
          && lib.any (w: has "setContainerdSnapshotter" w) renamed.toplevel.warnings; }
      { name = "removed preloadContainerdImages fails with a pointer"; ok = fails removedPreload; }
      { name = "configFile with nixSnapshotterIntegration warns that the settings are not used";
        ok = lib.any (w: has "configFile" w && has "nixSnapshotterIntegration" w)
          (ownConfigFile { nixSnapshotterIntegration = true; }).warnings; }
      { name = "configFile with gVisorIntegration warns too";
        ok = lib.any (w: has "gVisorIntegration" w) (ownConfigFile { gVisorIntegration = true; }).warnings; }
      { name = "configFile without an integration: no warning";
        ok = (ownConfigFile { }).warnings == [ ]; }
      { name = "an option NixOS does not declare fails (virtualisation.containerd.notAnOption)"; ok = fails undeclared; }

      # rootless NixOS
      { name = "rootless NixOS, containerd 2.1: version 3 layout";
        ok = rootless2.virtualisation.containerd.rootless.settings.version == 3
          && rootless2.virtualisation.containerd.rootless.settings.plugins."io.containerd.cri.v1.images".snapshotter == "nix"; }
      { name = "rootless NixOS, containerd 1.7: version 2 layout";
        ok = rootless17.virtualisation.containerd.rootless.settings.version == 2
          && (cri2 rootless17.virtualisation.containerd.rootless.settings).containerd.snapshotter == "nix"
          && (cri2 rootless17.virtualisation.containerd.rootless.settings).disable_cgroup; }
      { name = "rootless NixOS: user units containerd, nix-snapshotter, preload-containerd";
        ok = lib.attrNames rootless2.systemd.user.services == [ "containerd" "nix-snapshotter" "preload-containerd" ]
          && rootless2.systemd.user.services.nix-snapshotter.wantedBy == [ "default.target" ]
          && rootless2.systemd.user.services.nix-snapshotter.unitConfig.PartOf == [ "containerd.service" ]; }
      { name = "rootless NixOS: login shells get the user's socket and namespace";
        ok = has ''export CONTAINERD_ADDRESS="$XDG_RUNTIME_DIR/containerd/containerd.sock"'' rootless2.environment.extraInit
          && has ''export CONTAINERD_NAMESPACE="k8s.io"'' rootless2.environment.extraInit; }
      { name = "rootless NixOS: settings reach the snapshotter's file";
        ok = has ''log_level = "debug"'' rootless2.services.nix-snapshotter.rootless.configFile.text; }

      # k3s rootless
      { name = "k3s rootless: user unit runs k3s server --rootless --snapshotter nix";
        ok = has "/bin/k3s server --rootless --snapshotter nix" k3sRootless.systemd.user.services.k3s.serviceConfig.ExecStart; }
      { name = "k3s rootless: warns that snapshotter nix needs a k3s with it compiled in";
        ok = lib.any (w: has "compiled in" w) k3sRootless.warnings; }
      { name = "k3s rootless: KUBECONFIG, cgroup delegation, ip_forward";
        ok = has ''export KUBECONFIG="$HOME/.kube/k3s.yaml"'' k3sRootless.environment.extraInit
          && k3sRootless.systemd.services."user@".serviceConfig.Delegate == "memory pids cpu cpuset io"
          && k3sRootless.boot.kernel.sysctl."net.ipv4.ip_forward" == 1; }

      # Home Manager old names
      { name = "Home Manager: old names setContainerdSnapshotter/settings renamed, with warnings";
        ok = hmOld.config.virtualisation.containerd.rootless.nixSnapshotterIntegration
          && hmOld.config.services.nix-snapshotter.rootless.settings.log_level == "debug"
          && builtins.length hmOld.config.warnings == 2; }
      { name = "Home Manager: an option it does not declare fails (virtualisation.containerd.enable)";
        ok = fails hmUndeclared; }

      { name = "Home Manager k3s rootless: unit, embedded containerd variables";
        ok = has "/bin/k3s server --rootless --snapshotter overlayfs --disable traefik" hmK3s.systemd.user.services.k3s.Service.ExecStart
          && has ''export CONTAINERD_ADDRESS="$XDG_RUNTIME_DIR/k3s/containerd/containerd.sock"'' hmK3s.home.sessionVariablesExtra
          && hmK3s.warnings == [ ]; }
      { name = "Home Manager gVisor: runsc runtime (v3 layout), a runsc wrapper first on containerd's PATH";
        ok = hmK3s.virtualisation.containerd.rootless.settings.plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc.runtime_type == "io.containerd.runsc.v1"
          && hmK3s.virtualisation.containerd.rootless.settings.plugins."io.containerd.cri.v1.runtime".containerd.default_runtime_name == "runsc"
          && (builtins.head hmK3s.virtualisation.containerd.rootless.path).name == "runsc"
          && !(hmK3s.virtualisation.containerd.rootless.settings ? proxy_plugins); }

      # flake / default.nix
      { name = "nixosModules as the original's";
        ok = lib.attrNames flake.nixosModules == [ "containerd" "containerd-rootless" "default" "k3s" "k3s-rootless"
          "nix-snapshotter" "nix-snapshotter-rootless" "preload-containerd" "preload-containerd-rootless" ]; }
      { name = "homeModules as the original's, homeManagerModules alias";
        ok = lib.attrNames flake.homeModules == [ "containerd-rootless" "default" "k3s-rootless"
          "nix-snapshotter-rootless" "preload-containerd-rootless" ]
          && flake.homeManagerModules == flake.homeModules; }
      { name = "default.nix gives the flake's modules and overlay without nixpkgs";
        ok = nonFlakeImport.nixosModules == flake.nixosModules && nonFlakeImport.homeModules == flake.homeModules
          && lib.attrNames nonFlakeImport.overlays == [ "default" ]; }
      { name = "default.nix called with a nixpkgs tree: VMs are nixosSystem of the default module and vm/*.nix";
        ok = let vm = (nonFlakeImport { nixpkgs = ./standins/nixpkgs; }).nixosConfigurations.vm;
          in builtins.elem flake.nixosModules.default vm.args.modules
            && builtins.elem ../../vm/rootful.nix vm.args.modules && vm.args.system == "x86_64-linux"; }
      { name = "every module alone evaluates (NixOS)";
        ok = lib.all (m: !(fails ((nixos.evalNixOS {
          modules = [ m { nixpkgs.overlays = [ flake.overlays.default ]; } ];
        }).toplevel.systemd.services))) (lib.attrValues flake.nixosModules); }
      { name = "every module alone evaluates (Home Manager)";
        ok = lib.all (m: !(fails (hm.lib.homeManagerConfiguration {
          pkgs = pkgsFor { };
          modules = [ m { home = { username = "u"; homeDirectory = "/home/u"; stateVersion = "23.11"; }; nixpkgs.overlays = [ flake.overlays.default ]; } ];
        }).activation.systemd.user.services)) (lib.attrValues flake.homeModules); }
    ];

  # --- renders for the real programs (tests/nix/render-check.sh) ---------------------------
  # Paths that would touch the machine are moved under tmpDir.
  moveContainerd = name: snapshotterDir: settings: toTOML (lib.recursiveUpdate settings {
    root = "${tmpDir}/${name}/root";
    state = "${tmpDir}/${name}/state";
    grpc.address = "${tmpDir}/${name}/containerd.sock";
    proxy_plugins.nix.address = "${tmpDir}/${snapshotterDir}/nix-snapshotter.sock";
  });
  moveSnapshotter = name: containerdDir: settings: toTOML (lib.recursiveUpdate settings {
    address = "${tmpDir}/${name}/nix-snapshotter.sock";
    root = "${tmpDir}/${name}/root";
    image_service.containerd_address = "${tmpDir}/${containerdDir}/containerd.sock";
  });
  unitText = import ./standins/unit-text.nix { inherit lib; };
in
{
  count = builtins.length checks;
  failures = map (c: c.name) (lib.filter (c: !c.ok) checks);

  summaries = {
    "NixOS flake" = "system units nix-snapshotter (${nf.systemd.services.nix-snapshotter.serviceConfig.ExecStart}) and containerd; "
      + "containerd config v${toString nfCtr.version}: proxy_plugins.nix -> ${nfCtr.proxy_plugins.nix.address} (exports.root), CRI snapshotter nix, "
      + "disable_snapshot_annotations=false, transfer unpack_config nix; login shells: CONTAINERD_ADDRESS, CONTAINERD_SNAPSHOTTER=nix";
    "NixOS non-flake" = "same as the flake snippet (containerd settings equal: ${lib.boolToString (nf.virtualisation.containerd.settings == nnf.virtualisation.containerd.settings)})";
    "Home Manager flake" = "user units ${lib.concatStringsSep ", " (lib.attrNames hf.systemd.user.services)}; "
      + "rootless containerd config v${toString hf.virtualisation.containerd.rootless.settings.version} (cri.v1.images snapshotter nix, transfer nix, proxy nix), "
      + "${toString (lib.length (lib.attrNames hf.virtualisation.containerd.rootless.bindMounts))} bind mounts; session: CONTAINERD_ADDRESS=$XDG_RUNTIME_DIR/containerd/containerd.sock, CONTAINERD_SNAPSHOTTER=nix";
    "Home Manager non-flake" = "same user units (${lib.concatStringsSep ", " (lib.attrNames hnf.systemd.user.services)}) and session variables";
  };

  renders = {
    # The README NixOS snippet's containerd (config version 2), for containerd 1.7 and 2.1.
    "containerd-rootful-v2.toml" = moveContainerd "rootful" "snapshotter" nf.virtualisation.containerd.settings;
    # The README Home Manager snippet's (containerd 2.x: version 3), and containerd 1.7's.
    "containerd-rootless-v3.toml" = moveContainerd "rootless-v3" "snapshotter-rootless" hf.virtualisation.containerd.rootless.settings;
    "containerd-rootless-v2.toml" = moveContainerd "rootless-v2" "snapshotter-rootless" rootless17.virtualisation.containerd.rootless.settings;
    "nix-snapshotter-rootful.toml" = moveSnapshotter "snapshotter" "rootful" nf.services.nix-snapshotter.settings;
    "nix-snapshotter-rootless.toml" = moveSnapshotter "snapshotter-rootless" "rootless-v3" hf.services.nix-snapshotter.rootless.settings;
    "nix-snapshotter.service" = unitText.nixos nf.systemd.services.nix-snapshotter;
    "containerd.service" = unitText.nixos nf.systemd.services.containerd;
    "preload-containerd.service" = unitText.nixos full.systemd.services.preload-containerd;
    "user/containerd.service" = unitText.hm hf.systemd.user.services.containerd;
    "user/nix-snapshotter.service" = unitText.hm hf.systemd.user.services.nix-snapshotter;
    "user/k3s.service" = unitText.nixos k3sRootless.systemd.user.services.k3s;
  };
}
