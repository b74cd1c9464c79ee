# The script of the preload-containerd units: loads each target's image archives into
# that target's containerd socket and namespace with `nix2container load`.
#   targets: [ { archives; address; namespace; } ] (services.preload-containerd.targets)
# In addresses only environment-variable references are expanded when the unit runs
# ("$XDG_RUNTIME_DIR/containerd/..."); any other `$` is refused at evaluation
# (nix/shell-word.nix), as for copyToContainerd.
{ lib, writeShellScriptBin, package, targets }:
let
  dq = import ./shell-word.nix { inherit lib; } "services.preload-containerd address";
in
writeShellScriptBin "preload-containerd" ''
  set -eu
  ${lib.concatMapStrings (target: lib.concatMapStrings (archive: ''
    echo "preload-containerd: loading ${archive} into namespace" ${lib.escapeShellArg target.namespace} at ${dq target.address}
    ${package}/bin/nix2container --address ${dq target.address} --namespace ${lib.escapeShellArg target.namespace} \
      load ${lib.escapeShellArg "${archive}"}
  '') target.archives) targets}
''
