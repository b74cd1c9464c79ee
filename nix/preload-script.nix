# The script of the preload-containerd units: loads each target's image archives into
# that target's containerd socket and namespace with `nix2container load`.
#   targets: [ { archives; address; namespace; } ] (services.preload-containerd.targets)
# Addresses are double-quoted for the shell, so "$XDG_RUNTIME_DIR/containerd/..." is
# expanded when the unit runs.
{ lib, writeShellScriptBin, package, targets }:
let
  dq = s: ''"${lib.escape [ "\\" "\"" "`" ] s}"'';
in
writeShellScriptBin "preload-containerd" ''
  set -eu
  ${lib.concatMapStrings (target: lib.concatMapStrings (archive: ''
    echo "preload-containerd: loading ${archive} into namespace" ${lib.escapeShellArg target.namespace} at ${dq target.address}
    ${package}/bin/nix2container --address ${dq target.address} --namespace ${lib.escapeShellArg target.namespace} \
      load ${lib.escapeShellArg "${archive}"}
  '') target.archives) targets}
''
