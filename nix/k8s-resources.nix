# Kubernetes resources for the redis example, as the original's k8sResources output:
# a pod running the resolvedByNix redis image ("nix:0/nix/store/...-nix-image-redis.tar",
# pulled through nix-snapshotter's image service) and a NodePort service on 30000, so
# `kubectl apply -f` both, then `redis-cli -p 30000 ping` answers PONG on the node.
#   pkgs:  nixpkgs (with or without the overlay)
#   redis: a resolvedByNix image (default: nix/examples.nix's image-redisResolvedByNix)
{ pkgs, redis ? (import ./examples.nix { inherit pkgs; }).image-redisResolvedByNix }:

{
  redisPod = {
    apiVersion = "v1";
    kind = "Pod";
    metadata = {
      name = "redis";
      labels.name = "redis";
    };
    spec.containers = [{
      name = "redis";
      inherit (redis) image;
      args = [ "--protected-mode" "no" ];
      ports = [{ name = "client"; containerPort = 6379; }];
    }];
  };

  redisService = {
    apiVersion = "v1";
    kind = "Service";
    metadata.name = "redis-service";
    spec = {
      type = "NodePort";
      selector.name = "redis";
      ports = [{ name = "client"; port = 6379; targetPort = 6379; nodePort = 30000; }];
    };
  };
}
