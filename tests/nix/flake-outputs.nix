# Evaluates flake.nix's outputs with tests/nix/stub-nixpkgs as the nixpkgs input.
# Result: { outputs; checks = { count; failures = [ names ]; }; }
# tests/nix/run.sh also builds outputs.packages.<system>.{hello,redis,default}.
let
  flake = import ../../flake.nix;
  nixpkgs = {
    outPath = ./stub-nixpkgs;
    lib = import ./stub-nixpkgs/lib.nix;
  };
  outputs = flake.outputs { inherit self nixpkgs; };
  self = outputs // { outPath = ../..; };

  system = builtins.currentSystem;
  names = builtins.attrNames;
  pkg = outputs.packages.${system}.default;
  nerdctlTest = outputs.checks.${system}.nerdctl;
  k8sTest = outputs.checks.${system}.kubernetes-redis;
  contains = needle: haystack:
    builtins.match ".*${needle}.*" (builtins.replaceStrings [ "\n" ] [ " " ] haystack) != null;

  checks = [
    { name = "overlay"; ok = names outputs.overlays == [ "default" ]; }
    { name = "packages: default, nix-snapshotter and nix/examples.nix's images";
      ok = names outputs.packages.${system} == builtins.sort builtins.lessThan
        ([ "default" "nix-snapshotter" ] ++ names (import ../../nix/examples.nix {
          pkgs = import ./stub-nixpkgs { inherit system; overlays = [ outputs.overlays.default ]; };
        })); }
    { name = "packages for aarch64 too"; ok = outputs.packages ? aarch64-linux; }
    { name = "nixosModules"; ok = names outputs.nixosModules == [ "containerd" "containerd-rootless" "default" "k3s" "k3s-rootless" "nix-snapshotter" "nix-snapshotter-rootless" "preload-containerd" "preload-containerd-rootless" ]; }
    { name = "homeModules"; ok = names outputs.homeModules == [ "containerd-rootless" "default" "k3s-rootless" "nix-snapshotter-rootless" "preload-containerd-rootless" ] && outputs.homeManagerModules == outputs.homeModules; }
    { name = "VM configurations import the default module"; ok = builtins.elem outputs.nixosModules.default outputs.nixosConfigurations.vm.args.modules; }
    { name = "nixosConfigurations"; ok = names outputs.nixosConfigurations == [ "vm" "vm-rootless" ]; }
    {
      name = "VM configurations use vm/*.nix and the overlay";
      ok = builtins.elem ../../vm/rootful.nix outputs.nixosConfigurations.vm.args.modules
        && builtins.elem ../../vm/rootless.nix outputs.nixosConfigurations.vm-rootless.args.modules;
    }
    { name = "apps run the VMs"; ok = outputs.apps.x86_64-linux.vm.program == "/nix/store/00000000000000000000000000000000-nixos-vm/bin/run-stub-host-vm" && outputs.apps.x86_64-linux.vm.type == "app"; }
    { name = "checks"; ok = names outputs.checks.${system} == [ "kubernetes-redis" "nerdctl" "package" ]; }
    { name = "package is the overlay's"; ok = pkg.pname == "nix-snapshotter" && outputs.packages.${system}.nix-snapshotter.pname == "nix-snapshotter"; }
    { name = "tests and benchmarks off"; ok = pkg.cmakeFlags == [ "-DNIXSNAP_BUILD_TESTS=OFF" "-DNIXSNAP_BUILD_BENCH=OFF" ]; }
    { name = "passthru API"; ok = pkg ? buildImage && pkg ? copyToRegistry && pkg ? copyToContainerd; }
    { name = "mainProgram"; ok = pkg.meta.mainProgram == "nix-snapshotter"; }
    { name = "nerdctl VM test has both machines"; ok = nerdctlTest.name == "nix-snapshotter-nerdctl" && names nerdctlTest.nodes == [ "rootful" "rootless" ]; }
    { name = "nerdctl VM test script runs hello with nerdctl and ctr"; ok = contains "nerdctl run --rm --net none --snapshotter nix localhost/hello:latest" nerdctlTest.testScript && contains "ctr run --rm --snapshotter nix localhost/hello:latest" nerdctlTest.testScript; }
    { name = "redis VM test pulls a nix:0 image"; ok = contains "nix:0/nix/store/[a-z0-9]{32}-nix-image-redis.tar" k8sTest.testScript && contains "redis-cli ping" k8sTest.testScript; }
  ];
in
{
  inherit outputs;
  checks = {
    count = builtins.length checks;
    failures = map (c: c.name) (builtins.filter (c: !c.ok) checks);
  };
}
