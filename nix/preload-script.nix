# A script loading image archives into containerd with `nix2container load`, used by
# the preload units of every module.
#   images:       image archives (store paths)
#   namespaces:   containerd namespaces, each image goes to each of them
#   addressShell: a shell word for containerd's socket, e.g. "/run/containerd/containerd.sock"
#                 or "\"$XDG_RUNTIME_DIR/containerd/containerd.sock\"" (expanded at run time)
{ lib, writeShellScript, package, images, namespaces, addressShell }:

writeShellScript "nix-snapshotter-preload-images" ''
  set -eu
  for namespace in ${lib.escapeShellArgs namespaces}; do
    for image in ${lib.escapeShellArgs (map toString images)}; do
      echo "nix-snapshotter: loading $image into containerd namespace $namespace"
      ${package}/bin/nix2container --address ${addressShell} --namespace "$namespace" \
        load "$image"
    done
  done
''
