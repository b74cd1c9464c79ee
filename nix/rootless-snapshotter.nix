# The launcher of the rootless nix-snapshotter user unit: enters rootless containerd's
# namespaces (containerd-nsenter) and runs nix-snapshotter there, its root at the real
# path $XDG_DATA_HOME/containerd/io.containerd.snapshotter.v1.nix so GC roots registered
# with the Nix daemon (which lives outside the namespaces) resolve; inside, the same
# directory is /var/lib/containerd/io.containerd.snapshotter.v1.nix (bind mount).
{ lib, writeShellScript }:
{ package, configFile, nsenter, path ? [ ], setRoot ? true, extraFlags ? [ ] }:
writeShellScript "nix-snapshotter-rootless" ''
  set -eu
  : "''${XDG_DATA_HOME:=$HOME/.local/share}"
  root="$XDG_DATA_HOME/containerd/io.containerd.snapshotter.v1.nix"
  mkdir -p "$root"
  export PATH=${lib.makeBinPath path}''${PATH:+:$PATH}
  # The store is not writable from inside the user namespace: go through the daemon.
  export NIX_REMOTE=daemon
  exec ${nsenter}/bin/containerd-nsenter \
    ${package}/bin/nix-snapshotter --config ${configFile} ${lib.optionalString setRoot ''--root "$root"''} ${lib.escapeShellArgs extraFlags}
''
