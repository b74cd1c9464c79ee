# Launch scripts for rootless containerd and nix-snapshotter, shared by the NixOS
# (systemd.user.services) and Home Manager modules.
#
# Layout, the one nerdctl's rootless mode expects:
#   - containerd runs inside rootlesskit (user, mount and network namespaces; /etc,
#     /run and /var/lib copied up), its pid in $XDG_RUNTIME_DIR/containerd-rootless/child_pid;
#   - inside, each bindMounts source (e.g. $XDG_RUNTIME_DIR/containerd) is bind-mounted
#     on its mountPoint (/run/containerd), so both daemons use their default paths inside
#     and the sockets appear under $XDG_RUNTIME_DIR outside;
#   - nix-snapshotter joins those namespaces (containerd-nsenter), because the mounts it
#     returns must be the ones containerd sees; it keeps its root (GC roots!) at the real
#     path $XDG_DATA_HOME/containerd/io.containerd.snapshotter.v1.nix, because the Nix
#     daemon resolves GC root symlinks outside the namespace.
{ lib
, writeShellScript
, writeShellScriptBin
, rootlesskit
, slirp4netns
, util-linux
, fuse-overlayfs
, coreutils
, runc
}:

{ # containerd package
  containerd
, # extra PATH entries (virtualisation.containerd.rootless.path)
  extraPath ? [ ]
, # attrsOf { mountPoint } (virtualisation.containerd.rootless.bindMounts)
  bindMounts
, # attrsOf str, containerd's command line (--config ...)
  args
}:
let
  # newuidmap/newgidmap must be the host's setuid binaries: NixOS wrappers or /usr/bin.
  path = lib.makeBinPath ([ rootlesskit slirp4netns containerd runc util-linux fuse-overlayfs coreutils ] ++ extraPath)
    + ":/run/wrappers/bin:/usr/local/bin:/usr/bin:/bin";

  prelude = ''
    set -eu
    export PATH=${path}
    : "''${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR is not set: run this as a systemd user service}"
    : "''${XDG_DATA_HOME:=$HOME/.local/share}"
    : "''${XDG_CONFIG_HOME:=$HOME/.config}"
    export XDG_DATA_HOME XDG_CONFIG_HOME
    state="$XDG_RUNTIME_DIR/containerd-rootless"
  '';

  # A word for the shell: double-quoted, so $XDG_RUNTIME_DIR and the like expand.
  dq = s: ''"${lib.escape [ "\\" "\"" "`" ] s}"'';

  sources = lib.attrNames bindMounts;

  # Runs as "root" of the new user namespace, before containerd.
  child = writeShellScript "containerd-rootless-child" ''
    ${prelude}
    ${lib.concatMapStrings (source: ''
      mkdir -p ${dq bindMounts.${source}.mountPoint}
      mount --bind ${dq source} ${dq bindMounts.${source}.mountPoint}
    '') sources}
    exec containerd ${lib.concatStringsSep " " (lib.mapAttrsToList (name: value: "--${name} ${lib.escapeShellArg value}") args)}
  '';
in
{
  inherit path child;

  containerd = writeShellScript "containerd-rootless" ''
    ${prelude}
    mkdir -p ${lib.concatMapStringsSep " " dq sources}
    # Left over from a previous run (child_pid, api.sock): rootlesskit writes it anew.
    rm -rf "$state"
    exec rootlesskit \
      --state-dir="$state" \
      --net=slirp4netns --mtu=65520 \
      --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto \
      --disable-host-loopback --port-driver=builtin \
      --copy-up=/etc --copy-up=/run --copy-up=/var/lib \
      --propagation=rslave \
      ${child}
  '';

  # bin/containerd-nsenter CMD...: runs CMD in rootless containerd's namespaces,
  # waiting up to a minute for containerd to come up.
  nsenter = writeShellScriptBin "containerd-nsenter" ''
    set -eu
    export PATH=${lib.makeBinPath [ util-linux coreutils ]}:$PATH
    pidfile="''${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR is not set}/containerd-rootless/child_pid"
    for _ in $(seq 120); do
      [ -s "$pidfile" ] && break
      sleep 0.5
    done
    if [ ! -s "$pidfile" ]; then
      echo "containerd-nsenter: rootless containerd is not running ($pidfile is missing)" >&2
      exit 1
    fi
    exec nsenter --user --preserve-credentials --mount --net --target "$(cat "$pidfile")" -- "$@"
  '';
}
