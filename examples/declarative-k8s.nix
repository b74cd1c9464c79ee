# Kubernetes manifests whose images are Nix store paths: no registry, no push.
#
#   nix-build examples/declarative-k8s.nix                  # redis (NodePort 30000)
#   nix-build examples/declarative-k8s.nix --argstr name etcd  # etcd (NodePort 30001)
#   kubectl apply -f result/share/k8s/
#
# Each image is resolvedByNix: the pod names it "nix:0/nix/store/...-nix-image-NAME.tar"
# and kubelet, with nix-snapshotter as its image service, realises the archive and its
# closure from this machine's store or a substituter (docs/cri.md). The node must be able
# to get those store paths: build this on the node, or copy the closure there
# (`nix-copy-closure --to NODE $(nix-store -qR result)`), or push it to a binary cache
# the node uses.
{ pkgs ? import <nixpkgs> {
    overlays = [ (final: prev: { nix-snapshotter = final.callPackage ../package.nix { }; }) ];
  }
, name ? "redis"
}:

let
  apps = {
    redis = {
      entrypoint = "${pkgs.redis}/bin/redis-server";
      port = 6379;
      args = [ "--protected-mode" "no" ];
      nodePort = 30000;
    };
    etcd = {
      entrypoint = "${pkgs.etcd}/bin/etcd";
      port = 2379;
      args = [
        "--listen-client-urls" "http://0.0.0.0:2379"
        "--advertise-client-urls" "http://0.0.0.0:2379"
      ];
      nodePort = 30001;
    };
  };

  app = apps.${name} or (throw "declarative-k8s: name must be one of ${toString (builtins.attrNames apps)}, not ${builtins.toJSON name}");

  image = pkgs.nix-snapshotter.buildImage {
    inherit name;
    resolvedByNix = true;
    config.entrypoint = [ app.entrypoint ];
  };

  pod = pkgs.writeText "${name}-pod.json" (builtins.toJSON {
    apiVersion = "v1";
    kind = "Pod";
    metadata = {
      inherit name;
      labels = { inherit name; };
    };
    spec.containers = [{
      inherit name;
      inherit (app) args;
      inherit (image) image;
      ports = [{ name = "client"; containerPort = app.port; }];
    }];
  });

  service = pkgs.writeText "${name}-service.json" (builtins.toJSON {
    apiVersion = "v1";
    kind = "Service";
    metadata.name = "${name}-service";
    spec = {
      type = "NodePort";
      selector = { inherit name; };
      ports = [{ name = "client"; inherit (app) port nodePort; }];
    };
  });
in
pkgs.runCommand "declarative-k8s-${name}" { } ''
  mkdir -p $out/share/k8s
  cp ${pod} $out/share/k8s/${name}-pod.json
  cp ${service} $out/share/k8s/${name}-service.json
''
