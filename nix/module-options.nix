# Option declarations shared by modules/common/*.nix, so the rootful and rootless
# flavours (and NixOS and Home Manager) declare the same names with the same types and
# defaults. Names, types and defaults follow the original nix-snapshotter's modules
# (v0.2 and later), so configurations written for it evaluate here.
{ lib, pkgs }:
let
  inherit (lib) mkOption mkEnableOption types literalExpression;
  settingsFormat = pkgs.formats.toml { };
in
{
  inherit settingsFormat;

  # services.nix-snapshotter{,.rootless}.{package,settings,configFile,path}
  snapshotter = {
    package = lib.mkPackageOption pkgs "nix-snapshotter" { };

    settings = mkOption {
      type = settingsFormat.type;
      default = { };
      example = literalExpression ''
        {
          log_level = "debug";
          image_service.enable = false;
        }
      '';
      description = ''
        nix-snapshotter's configuration (TOML, read with --config). Keys: address,
        root, external_builder, log_level, store_dir, fuse_overlayfs, and the table
        image_service with enable and containerd_address. An unknown key or a value of
        the wrong type stops the daemon at start with a message naming it. The modules
        fill in address, root and image_service with their defaults (mkDefault) so
        containerd and kubelet can be pointed at them.
      '';
    };

    configFile = mkOption {
      type = types.nullOr types.path;
      defaultText = literalExpression "a file generated from settings";
      description = ''
        The configuration file given to nix-snapshotter. Setting it overrides what
        `settings` would write (the modules still read `settings` for the socket and
        root they tell containerd about).
      '';
    };

    extraFlags = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--log-level" "debug" ];
      description = "Extra arguments of nix-snapshotter, after --config (the original's v0.3 option).";
    };

    path = mkOption {
      type = types.listOf types.package;
      default = [ pkgs.nix ];
      defaultText = literalExpression "[ pkgs.nix ]";
      description = ''
        Packages on the PATH of the nix-snapshotter service: it runs `nix-store` to
        realise store paths and register GC roots.
      '';
    };
  };

  # virtualisation.containerd{,.rootless}.* beyond what NixOS declares.
  #   addressDefault: the default of setAddress.
  containerd = {
    nixSnapshotterIntegration = mkEnableOption ''
      the nix snapshotter in containerd: the proxy plugin "nix", CRI unpacking with
      snapshotter "nix" (layer annotations passed as labels), and the transfer
      service unpacking with "nix"'';

    gVisorIntegration = mkEnableOption "the gVisor runtime (runsc) for containerd's CRI";

    defaultRuntime = mkOption {
      type = types.str;
      default = "runc";
      example = "runsc";
      description = "The runtime containerd's CRI uses for pods that name none.";
    };

    path = mkOption {
      type = types.listOf types.path;
      default = [ ];
      description = "Packages added to containerd's PATH (e.g. runtimes).";
    };

    setAddress = mkOption {
      type = types.str;
      default = "/run/containerd/containerd.sock";
      description = ''
        Exported as CONTAINERD_ADDRESS in login shells (unless already set), so
        nerdctl and ctr find this containerd.
      '';
    };

    setNamespace = mkOption {
      type = types.str;
      default = "default";
      description = ''
        Exported as CONTAINERD_NAMESPACE in login shells when it is not "default".
      '';
    };

    setSnapshotter = mkOption {
      type = types.str;
      default = "";
      description = ''
        Exported as CONTAINERD_SNAPSHOTTER in login shells when not empty;
        nixSnapshotterIntegration makes it "nix", so `nerdctl run` needs no
        --snapshotter flag.
      '';
    };
  };

  k3sIntegration = mkEnableOption ''
    k3s on this (external) containerd: k3s gets --container-runtime-endpoint, and with
    nixSnapshotterIntegration also --image-service-endpoint for nix-snapshotter'';

  # services.preload-containerd{,.rootless}.{enable,targets}
  preload = {
    enable = mkEnableOption "loading image archives into containerd at start";

    targets = mkOption {
      type = types.listOf (types.submodule {
        options = {
          archives = mkOption {
            type = types.listOf types.package;
            default = [ ];
            description = ''
              Image archives (e.g. made by pkgs.nix-snapshotter.buildImage) loaded
              with `nix2container load`, unpacked for snapshotter "nix".
            '';
          };
          address = mkOption {
            type = types.str;
            default = "/run/containerd/containerd.sock";
            example = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
            description = ''
              containerd's socket. Shell variables such as $XDG_RUNTIME_DIR are
              expanded when the service runs.
            '';
          };
          namespace = mkOption {
            type = types.str;
            default = "default";
            example = "k8s.io";
            description = "The containerd namespace the images go to.";
          };
        };
      });
      default = [ ];
      description = ''
        Where to load which archives: each target names a containerd socket and a
        namespace.
      '';
    };
  };

  # services.k3s{,.rootless}.{snapshotter,setKubeConfig,setEmbeddedContainerd}
  k3s = {
    setEmbeddedContainerd = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Export CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE and CONTAINERD_SNAPSHOTTER for
        k3s' embedded containerd in login shells (unless already set).
      '';
    };

    setKubeConfig = mkOption {
      type = types.bool;
      default = false;
      description = "Export KUBECONFIG for k3s' kubeconfig in login shells (unless set).";
    };

    snapshotter = mkOption {
      type = types.enum [ "overlayfs" "fuse-overlayfs" "stargz" "nix" ];
      default = "overlayfs";
      description = ''
        The snapshotter of k3s' embedded containerd (k3s --snapshotter). "nix" needs a
        k3s that has the nix snapshotter compiled in, which this C++ nix-snapshotter
        cannot be (it runs out of process): use k3s on an external containerd instead,
        virtualisation.containerd.k3sIntegration (see docs/nixos.md).
      '';
    };
  };
}
