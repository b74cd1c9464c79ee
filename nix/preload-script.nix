# A script loading image archives into containerd with `nix2container load`, used by
# the preload units of every module.
#   addressShell: a shell word for containerd's socket, e.g. "/run/containerd/containerd.sock"
#                 or "\"$XDG_RUNTIME_DIR/containerd/containerd.sock\"" (expanded at run time)
{ lib, writeShellScript, package, images, namespace, addressShell }:

writeShellScript "nix-snapshotter-preload-images" ''
  set -eu
  for image in ${lib.escapeShellArgs (map toString images)}; do
    echo "nix-snapshotter: loading $image into containerd namespace ${namespace}"
    ${package}/bin/nix2container --address ${addressShell} \
      --namespace ${lib.escapeShellArg namespace} load "$image"
  done
''
