# The launch scripts of nix/rootless.nix, nix/rootless-snapshotter.nix and
# nix/preload-script.nix, built against recording fakes of rootlesskit, nsenter, mount,
# containerd, nix-snapshotter and nix2container (tests/nix/run.sh runs them and reads
# $NIXSNAP_FAKE_LOG).
#   libPath: a directory holding nixpkgs' lib/ (the scripts use nixpkgs' lib)
{ busyboxDir, libPath }:

let
  pkgs = import ./stub-pkgs.nix { inherit busyboxDir; };
  lib = import (libPath + "/lib");
  inherit (pkgs) recorders writeText writeShellScript runCommand;

  writeShellScriptBin = name: text: runCommand name { } ''
    mkdir -p $out/bin
    cp ${writeShellScript name text} $out/bin/${name}
  '';

  noop = "exit 0";

  # Writes child_pid like rootlesskit; does not run the child (that would need
  # namespaces), run.sh runs it separately in a private mount namespace.
  rootlesskit = recorders "rootlesskit" {
    rootlesskit = ''
      for arg in "$@"; do
        case "$arg" in --state-dir=*) state="''${arg#--state-dir=}" ;; esac
      done
      mkdir -p "$state"
      echo 4242 > "$state/child_pid"
    '';
  };
  # nsenter runs what follows "--".
  util-linux = recorders "util-linux" {
    nsenter = ''
      while [ "$1" != "--" ]; do shift; done
      shift
      exec "$@"
    '';
    mount = noop;
  };
  fakes = name: recorders name { ${name} = noop; };
  package = recorders "nix-snapshotter" { nix-snapshotter = noop; nix2container = noop; };

  scripts = import ../../nix/rootless.nix
    {
      inherit lib writeShellScript writeShellScriptBin rootlesskit util-linux;
      slirp4netns = fakes "slirp4netns";
      runc = fakes "runc";
      fuse-overlayfs = fakes "fuse-overlayfs";
      coreutils = pkgs.busybox;
    }
    {
      containerd = fakes "containerd";
      bindMounts = {
        "$XDG_RUNTIME_DIR/containerd".mountPoint = "/run/containerd";
        "$XDG_RUNTIME_DIR/nix-snapshotter".mountPoint = "/run/nix-snapshotter";
        "$XDG_DATA_HOME/containerd".mountPoint = "/var/lib/containerd";
      };
      args.config = "/nix/store/00000000000000000000000000000000-containerd.toml";
    };

  snapshotter = setRoot: import ../../nix/rootless-snapshotter.nix { inherit lib writeShellScript; } {
    inherit package setRoot;
    configFile = writeText "nix-snapshotter.toml" "";
    inherit (scripts) nsenter;
    path = [ (fakes "nix-store") ];
  };
in
{
  inherit package;
  inherit (scripts) containerd child;
  snapshotter = snapshotter true;
  snapshotterWithRoot = snapshotter false;

  preload = import ../../nix/preload-script.nix {
    inherit lib package writeShellScriptBin;
    targets = [
      { archives = [ "/nix/store/00000000000000000000000000000000-a.tar" "/nix/store/11111111111111111111111111111111-b.tar" ];
        address = "$XDG_RUNTIME_DIR/containerd/containerd.sock"; namespace = "default"; }
      { archives = [ "/nix/store/00000000000000000000000000000000-a.tar" ];
        address = "$XDG_RUNTIME_DIR/containerd/containerd.sock"; namespace = "k8s.io"; }
    ];
  };
}
