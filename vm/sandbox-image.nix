# A Nix-built pause image loaded under the name containerd's CRI uses for pod
# sandboxes, so Kubernetes in the VM starts pods without reaching a registry.
#   image: the configured sandbox image (containerd 1.7 `sandbox_image`, 2.x
#          `pinned_images.sandbox`), else the k3sIntegration default
{ config, lib, pkgs, ... }:

let
  plugins = config.virtualisation.containerd.settings.plugins or { };
  configured =
    plugins."io.containerd.grpc.v1.cri".sandbox_image
      or plugins."io.containerd.cri.v1.images".pinned_images.sandbox
      or "rancher/mirrored-pause:3.6";

  # containerd looks the image up by its normalised name: Docker Hub names get
  # "docker.io/" and official images "library/".
  parts = lib.splitString "/" configured;
  first = builtins.head parts;
  hasHost = builtins.length parts > 1
    && (lib.hasInfix "." first || lib.hasInfix ":" first || first == "localhost");
  normalised =
    if hasHost then configured
    else if builtins.length parts == 1 then "docker.io/library/${configured}"
    else "docker.io/${configured}";
  # "name:tag"; without a tag containerd means "latest".
  nameTag = builtins.match "(.*):([^:/]+)" normalised;
  name = if nameTag == null then normalised else builtins.elemAt nameTag 0;
  tag = if nameTag == null then "latest" else builtins.elemAt nameTag 1;

  pause = pkgs.nix-snapshotter.buildImage {
    inherit name tag;
    config.entrypoint = [ "${pkgs.tini}/bin/tini" "--" "${pkgs.coreutils}/bin/sleep" "infinity" ];
  };
in
# A digest-pinned sandbox image cannot be stood in for: then CRI pulls it.
lib.mkIf (!lib.hasInfix "@" configured) {
  services.preload-containerd = {
    enable = true;
    targets = [{ archives = [ pause ]; namespace = "k8s.io"; }];
  };
}
