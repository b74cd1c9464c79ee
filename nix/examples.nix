# Example Nix images (flake packages hello and redis; used by the VMs and VM tests).
#   pkgs: nixpkgs, with or without the nix-snapshotter overlay.
{ pkgs }:

let
  nix-snapshotter = pkgs.nix-snapshotter or (pkgs.callPackage ../package.nix { });
  inherit (nix-snapshotter) buildImage;
in
{
  # `nerdctl run --net none --snapshotter nix localhost/hello:latest` prints "Hello, world!".
  hello = buildImage {
    name = "localhost/hello";
    config.entrypoint = [ "${pkgs.hello}/bin/hello" ];
  };

  # Named by its own store path: a pod uses "image: nix:0${redis}" and kubelet pulls
  # it through nix-snapshotter's image service, no registry involved. copyToRoot puts
  # redis-cli at /bin for `kubectl exec`.
  redis = buildImage {
    name = "localhost/redis";
    resolvedByNix = true;
    config = {
      entrypoint = [ "${pkgs.redis}/bin/redis-server" ];
      cmd = [ "--protected-mode" "no" ];
      exposedPorts."6379/tcp" = { };
    };
    copyToRoot = [ pkgs.redis ];
  };

  # The same redis under an ordinary name, for nerdctl and ctr.
  redisNamed = buildImage {
    name = "localhost/redis";
    config = {
      entrypoint = [ "${pkgs.redis}/bin/redis-server" ];
      cmd = [ "--protected-mode" "no" ];
    };
    copyToRoot = [ pkgs.redis ];
  };

  # A pause image for containerd's CRI sandboxes, so Kubernetes needs no registry.
  pause = buildImage {
    name = "localhost/pause";
    config.entrypoint = [ "${pkgs.tini}/bin/tini" "--" "${pkgs.coreutils}/bin/sleep" "infinity" ];
  };
}
