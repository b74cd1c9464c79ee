# testScript helpers shared by the VM tests (Python, prepended to their scripts).
#   sudoAlice: runs a command as alice (uid 1000) with her containerd environment
{ lib }:

{
  sudoAlice = lib.concatStringsSep " " [
    "sudo"
    "--preserve-env=XDG_RUNTIME_DIR,CONTAINERD_ADDRESS,CONTAINERD_SNAPSHOTTER,CONTAINERD_NAMESPACE"
    "-u"
    "alice"
  ];

  # A user whose services start at boot (rootless containerd, nix-snapshotter).
  alice = {
    users.users.alice = {
      uid = 1000;
      isNormalUser = true;
      linger = true;
    };
    environment.variables.XDG_RUNTIME_DIR = "/run/user/1000";
  };

  python = ''
    def wait_for_unit(machine, service, user="alice"):
        if "rootless" in machine.name:
            machine.wait_until_succeeds(
                f"systemctl --user --machine={user}@ is-active {service}", timeout=300)
        else:
            machine.wait_for_unit(service)
  '';
}
