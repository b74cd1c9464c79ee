# Option declarations shared by modules/nixos/*.nix and modules/home/*.nix.
#   what: a phrase naming the flavour, for descriptions ("" or " (rootless)")
{ lib, pkgs, what ? "" }:
let
  inherit (lib) mkOption mkEnableOption types literalExpression;
  settingsFormat = pkgs.formats.toml { };
in
{
  enable = mkEnableOption "nix-snapshotter${what}, a containerd snapshotter that runs Nix images";

  package = mkOption {
    type = types.package;
    default = pkgs.nix-snapshotter or (pkgs.callPackage ../package.nix { });
    defaultText = literalExpression "pkgs.nix-snapshotter";
    description = "The nix-snapshotter package (provides nix-snapshotter and nix2container).";
  };

  settings = mkOption {
    type = settingsFormat.type;
    default = { };
    example = literalExpression ''
      {
        log_level = "debug";
        external_builder = "/run/current-system/sw/bin/nix-store";
        image_service.enable = false;
      }
    '';
    description = ''
      Configuration written to the TOML file nix-snapshotter reads with --config.
      Keys: address, root, external_builder, log_level, store_dir, fuse_overlayfs,
      and the table image_service with enable and containerd_address. An unknown key
      or a value of the wrong type stops the daemon at start with a message naming it.
    '';
  };

  setContainerdSnapshotter = mkOption {
    type = types.bool;
    default = false;
    description = ''
      Make containerd's CRI plugin unpack images with snapshotter "nix" (and pass
      layer annotations to it, disable_snapshot_annotations = false), so Kubernetes
      runs Nix images. The proxy plugin "nix" is configured in any case.
    '';
  };

  preloadContainerdImages = mkOption {
    type = types.listOf types.package;
    default = [ ];
    example = literalExpression ''
      [ (pkgs.nix-snapshotter.buildImage {
          name = "localhost/hello";
          config.entrypoint = [ "''${pkgs.hello}/bin/hello" ];
        }) ]
    '';
    description = ''
      Image archives (made with pkgs.nix-snapshotter.buildImage) loaded into
      containerd with `nix2container load` at boot, unpacked for snapshotter "nix".
    '';
  };

  preloadNamespaces = mkOption {
    type = types.listOf types.str;
    default = [ "default" ];
    example = [ "default" "k8s.io" ];
    description = ''
      containerd namespaces every preloaded image goes to: "default" for ctr and
      nerdctl, "k8s.io" for Kubernetes (e.g. a CRI sandbox image).
    '';
  };

  imageServiceEndpoint = mkOption {
    type = types.str;
    readOnly = true;
    description = ''
      The CRI image service endpoint of nix-snapshotter. Give it to kubelet with
      `--image-service-endpoint` (k3s: the same flag) so pods can use
      "nix:0/nix/store/...-nix-image-NAME.tar" images.
    '';
  };
}
