# /etc/kubernetes/redis/{pod,service}.json (nix/k8s-resources.nix): a redis pod whose
# image is "nix:0/nix/store/...-nix-image-redis.tar" and a NodePort service on 30000.
#   kubectl apply -f /etc/kubernetes/redis/ && redis-cli -p 30000 ping   # PONG
# The manifests refer to the image archive, so it and its closure are in the system
# closure: valid paths in the VM's store, which nix-snapshotter realises from.
{ pkgs, ... }:

let
  resources = import ../nix/k8s-resources.nix { inherit pkgs; };
in
{
  environment.etc."kubernetes/redis/pod.json".source =
    pkgs.writeText "redis-pod.json" (builtins.toJSON resources.redisPod);
  environment.etc."kubernetes/redis/service.json".source =
    pkgs.writeText "redis-service.json" (builtins.toJSON resources.redisService);
}
