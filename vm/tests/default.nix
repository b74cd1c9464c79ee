# The NixOS VM tests, as the original's (flake checks; `nix build .#checks.<system>.<name> -L`).
#   pkgs:         nixpkgs with the nix-snapshotter overlay, for a Linux system with KVM
#   nixosModule:  the project's NixOS modules (the flake passes nixosModules.default)
# Each test file is a test module for pkgs.testers.runNixOSTest; its nodes get the
# project's modules and the argument k8sResources (nix/k8s-resources.nix).
{ pkgs, nixosModule ? ../../modules/nixos }:

let
  k8sResources = import ../../nix/k8s-resources.nix { inherit pkgs; };

  runTest = name: file: pkgs.testers.runNixOSTest {
    imports = [ file ];
    name = "nix-snapshotter-${name}";
    defaults.imports = [ nixosModule ];
    node.specialArgs = { inherit k8sResources; };
  };

  tests = {
    # nerdctl runs Nix and dockerTools images, rootful, rootless and with an external builder.
    snapshotter = ./snapshotter.nix;
    # A registry in a Nix image; nerdctl and copy-to-registry push, nerdctl pulls.
    push-n-pull = ./push-n-pull.nix;
    # services.kubernetes with nix-snapshotter as kubelet's image service.
    kubernetes = ./kubernetes.nix;
    # k3s on the system containerd (k3sIntegration), as `nix run .#vm` does.
    k3s-external = ./k3s-external.nix;
    # Not here: the original's k3s and k3s-rootless tests run k3s' EMBEDDED containerd
    # with the nix snapshotter compiled in; a separate snapshotter process cannot be
    # (docs/vms.md). k3s-external is the working k3s setup.
    # gVisor (runsc) runs a Nix image, rootful and rootless.
    gvisor = ./gvisor.nix;
  };
in
builtins.mapAttrs runTest tests
