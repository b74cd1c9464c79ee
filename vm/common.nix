# What both demo VMs share: a console VM (qemu-vm.nix imported directly: these
# configurations exist only as VMs), the tools of the README's demo, and the redis
# manifests in /etc/kubernetes/redis/. The flake adds nixosModules.default and the
# overlay (pkgs.nix-snapshotter).
{ pkgs, modulesPath, ... }:

{
  imports = [
    (modulesPath + "/virtualisation/qemu-vm.nix")
    ./redis-spec.nix
  ];

  nix.settings.experimental-features = [ "nix-command" "flakes" ];

  environment.systemPackages = with pkgs; [
    containerd
    cri-tools
    jq
    kubectl
    nerdctl
    nix-snapshotter
    redis
  ];

  virtualisation = {
    memorySize = 4096;
    cores = 2;
    diskSize = 8192;
    graphics = false;
    # A fresh disk each run: the demo starts from the same state every time.
    diskImage = null;
  };

  services.openssh.enable = true;
  networking.firewall.allowedTCPPorts = [ 22 ];

  system.stateVersion = "24.05";
}
