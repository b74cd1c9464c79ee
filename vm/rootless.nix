# `nix run .#vm-rootless`: the README's demo, rootless. Log in as rootless (password
# rootless), then
#   nerdctl run ghcr.io/pdtpartners/hello          # the user's containerd, snapshotter nix
#   nerdctl run -d -p 30000:6379 ghcr.io/pdtpartners/redis && redis-cli -p 30000 ping
# containerd and nix-snapshotter run as the user's systemd services inside rootlesskit
# (started at boot: linger); the user's session exports CONTAINERD_ADDRESS/SNAPSHOTTER.
# No Kubernetes here: rootless k3s runs its own embedded containerd inside its own
# rootlesskit namespaces, and an out-of-process snapshotter has no supported way in
# (docs/vms.md, "Rootless Kubernetes").
{ lib, pkgs, ... }:

let
  examples = import ../nix/examples.nix { inherit pkgs; };
in
{
  imports = [ ./common.nix ];

  networking.hostName = "nix-snapshotter-rootless";

  users.users.rootless = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    password = "rootless";
    group = "rootless";
    # The user's containerd and nix-snapshotter start at boot, before anyone logs in.
    linger = true;
  };
  users.groups.rootless = { };

  virtualisation.containerd.rootless = {
    enable = true;
    nixSnapshotterIntegration = true;
  };

  services.nix-snapshotter.rootless.enable = true;

  services.preload-containerd.rootless = {
    enable = true;
    targets = [{
      archives = with examples; [ image-hello image-redis image-redisWithShell ];
      address = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
    }];
  };
}
