# The launch scripts of nix/rootless.nix and nix/preload-script.nix, built against
# recording fakes of rootlesskit, nsenter, mount, containerd, nix-snapshotter and
# nix2container (tests/nix/run.sh runs them and reads $NIXSNAP_FAKE_LOG).
{ busyboxDir }:

let
  pkgs = import ./stub-pkgs.nix { inherit busyboxDir; };
  inherit (pkgs) lib recorders writeText;

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
      inherit lib;
      inherit (pkgs) writeShellScript;
      inherit rootlesskit util-linux;
      slirp4netns = fakes "slirp4netns";
      containerd = fakes "containerd";
      runc = fakes "runc";
      fuse-overlayfs = fakes "fuse-overlayfs";
      coreutils = pkgs.busybox;
      nix = fakes "nix-store";
    }
    {
      inherit package;
      snapshotterConfig = writeText "nix-snapshotter.toml" "";
      containerdConfig = writeText "containerd.toml" "";
    };
in
{
  inherit package;
  inherit (scripts) containerd snapshotter;
  # The child is not exported by nix/rootless.nix: read it from the outer script.
  snapshotterWithRoot = (import ../../nix/rootless.nix
    {
      inherit lib;
      inherit (pkgs) writeShellScript;
      inherit rootlesskit util-linux;
      slirp4netns = fakes "slirp4netns";
      containerd = fakes "containerd";
      runc = fakes "runc";
      fuse-overlayfs = fakes "fuse-overlayfs";
      coreutils = pkgs.busybox;
      nix = fakes "nix-store";
    }
    {
      inherit package;
      snapshotterConfig = writeText "nix-snapshotter.toml" "";
      containerdConfig = writeText "containerd.toml" "";
      setRoot = false;
    }).snapshotter;

  preload = import ../../nix/preload-script.nix {
    inherit lib package;
    inherit (pkgs) writeShellScript;
    images = [ "/nix/store/00000000000000000000000000000000-a.tar" "/nix/store/11111111111111111111111111111111-b.tar" ];
    namespaces = [ "default" "k8s.io" ];
    addressShell = scripts.containerdAddressShell;
  };
}
