# Example Nix images, keyed as the flake's packages: `nix build .#image-hello`.
#   pkgs: nixpkgs, with or without the nix-snapshotter overlay.
# Each image has passthru.copyToRegistry / copyToContainerd (nix/example-apps.nix
# makes the flake's push-* and load-* apps from them) and passthru.image, the name to
# run it by: `nerdctl run ghcr.io/pdtpartners/hello` once loaded.
{ pkgs }:

let
  nix-snapshotter = pkgs.nix-snapshotter or (pkgs.callPackage ../package.nix { });
  inherit (nix-snapshotter) buildImage;

  redisConfig = {
    entrypoint = [ "${pkgs.redis}/bin/redis-server" ];
    cmd = [ "--protected-mode" "no" ];
    exposedPorts."6379/tcp" = { };
  };

  redis = buildImage {
    name = "ghcr.io/pdtpartners/redis";
    config = redisConfig;
  };
in
{
  # `nerdctl run ghcr.io/pdtpartners/hello` prints "Hello, world!".
  image-hello = buildImage {
    name = "ghcr.io/pdtpartners/hello";
    config.entrypoint = [ "${pkgs.hello}/bin/hello" ];
  };

  # `nerdctl run -d -p 30000:6379 ghcr.io/pdtpartners/redis`, then `redis-cli -p 30000 ping`.
  image-redis = redis;

  # The redis image as a base, plus a shell and redis-cli at /bin (copyToRoot):
  # `nerdctl run -it ghcr.io/pdtpartners/redis-shell`.
  image-redisWithShell = buildImage {
    name = "ghcr.io/pdtpartners/redis-shell";
    fromImage = redis;
    config.entrypoint = [ "/bin/sh" ];
    copyToRoot = pkgs.buildEnv {
      name = "redis-shell-root";
      pathsToLink = [ "/bin" ];
      paths = [ pkgs.bashInteractive pkgs.coreutils pkgs.redis ];
    };
  };

  # Named after its own store path: a pod uses `image: nix:0/nix/store/...-nix-image-redis.tar`
  # (its passthru.image) and kubelet pulls it through nix-snapshotter's image service,
  # no registry involved (nix/k8s-resources.nix).
  image-redisResolvedByNix = buildImage {
    name = "redis";
    resolvedByNix = true;
    config = redisConfig;
  };

  # fromImage an ordinary image made by dockerTools (pullImage works the same way):
  # busybox's files come from the base layer, hello from the Nix store.
  image-helloOnBusybox = buildImage {
    name = "ghcr.io/pdtpartners/hello-on-busybox";
    fromImage = pkgs.dockerTools.buildImage {
      name = "busybox-base";
      tag = "latest";
      copyToRoot = pkgs.busybox;
    };
    config = {
      entrypoint = [ "/bin/sh" "-c" ];
      cmd = [ "${pkgs.hello}/bin/hello && ls /bin/busybox" ];
    };
  };
}
