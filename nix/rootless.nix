# Launch scripts for rootless containerd + nix-snapshotter, shared by
# modules/nixos/nix-snapshotter-rootless.nix (systemd.user.services on NixOS) and
# modules/home/nix-snapshotter.nix (Home Manager, any distribution).
#
# Layout, the one nerdctl's rootless mode expects:
#   - containerd runs inside rootlesskit (user, mount and network namespaces; /etc,
#     /run and /var/lib copied up), its pid in $XDG_RUNTIME_DIR/containerd-rootless/child_pid;
#   - inside, $XDG_RUNTIME_DIR/containerd is bind-mounted on /run/containerd,
#     $XDG_RUNTIME_DIR/nix-snapshotter on /run/nix-snapshotter and
#     $XDG_DATA_HOME/containerd on /var/lib/containerd, so both daemons use their
#     default socket paths inside and the sockets appear under $XDG_RUNTIME_DIR outside;
#   - nix-snapshotter joins those namespaces with nsenter (its mounts must be the ones
#     containerd sees) and keeps its root (GC roots!) at the real path
#     $XDG_DATA_HOME/containerd/io.containerd.snapshotter.v1.nix, because the Nix daemon
#     resolves GC root symlinks outside the namespace.
{ lib
, writeShellScript
, rootlesskit
, slirp4netns
, containerd
, runc
, util-linux
, fuse-overlayfs
, coreutils
, nix
}:

{
  # The nix-snapshotter package.
  package
, # TOML files (store paths).
  snapshotterConfig
, containerdConfig
, # Pass --root with the per-user path (false when settings.root is set).
  setRoot ? true
}:
let
  # newuidmap/newgidmap must be the host's setuid binaries: NixOS wrappers or /usr/bin.
  path = lib.makeBinPath [ rootlesskit slirp4netns containerd runc util-linux fuse-overlayfs coreutils nix ]
    + ":/run/wrappers/bin:/usr/local/bin:/usr/bin:/bin";

  prelude = ''
    set -eu
    export PATH=${path}
    : "''${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR is not set: run this as a systemd user service}"
    data="''${XDG_DATA_HOME:-$HOME/.local/share}"
    state="$XDG_RUNTIME_DIR/containerd-rootless"
  '';

  # Runs as "root" of the new user namespace, before containerd.
  containerdChild = writeShellScript "containerd-rootless-child" ''
    ${prelude}
    for dir in /run/containerd /run/nix-snapshotter /var/lib/containerd; do
      mkdir -p "$dir"
    done
    mount --bind "$XDG_RUNTIME_DIR/containerd" /run/containerd
    mount --bind "$XDG_RUNTIME_DIR/nix-snapshotter" /run/nix-snapshotter
    mount --bind "$data/containerd" /var/lib/containerd
    exec containerd --config ${containerdConfig}
  '';
in
{
  inherit path containerdChild;

  containerd = writeShellScript "containerd-rootless" ''
    ${prelude}
    mkdir -p "$XDG_RUNTIME_DIR/containerd" "$XDG_RUNTIME_DIR/nix-snapshotter" "$data/containerd"
    # Left over from a previous run (child_pid, api.sock): rootlesskit writes it anew.
    rm -rf "$state"
    exec rootlesskit \
      --state-dir="$state" \
      --net=slirp4netns --mtu=65520 \
      --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto \
      --disable-host-loopback --port-driver=builtin \
      --copy-up=/etc --copy-up=/run --copy-up=/var/lib \
      --propagation=rslave \
      ${containerdChild}
  '';

  snapshotter = writeShellScript "nix-snapshotter-rootless" ''
    ${prelude}
    # Realise through the Nix daemon: the host's store is not writable in here.
    export NIX_REMOTE=daemon
    pidfile="$state/child_pid"
    for _ in $(seq 120); do
      [ -s "$pidfile" ] && break
      sleep 0.5
    done
    if [ ! -s "$pidfile" ]; then
      echo "nix-snapshotter: rootless containerd is not running ($pidfile is missing)" >&2
      exit 1
    fi
    mkdir -p "$data/containerd/io.containerd.snapshotter.v1.nix"
    exec nsenter --user --preserve-credentials --mount --net --target "$(cat "$pidfile")" -- \
      ${package}/bin/nix-snapshotter --config ${snapshotterConfig} \
      ${lib.optionalString setRoot ''--root "$data/containerd/io.containerd.snapshotter.v1.nix"''}
  '';

  # containerd's socket as seen from outside the namespaces (a shell word).
  containerdAddressShell = ''"$XDG_RUNTIME_DIR/containerd/containerd.sock"'';
}
