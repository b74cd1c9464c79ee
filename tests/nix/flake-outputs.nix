# Evaluates flake.nix's outputs with tests/nix/stub-nixpkgs as the nixpkgs input.
# Result: { outputs; checks = { count; failures = [ names ]; }; }
# tests/nix/run.sh also builds outputs.packages.<system>.{image-hello,image-redisResolvedByNix,default}.
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
  vmTests = [ "gvisor" "k3s-external" "kubernetes" "push-n-pull" "snapshotter" ];
  k3sTest = outputs.checks.${system}.k3s-external;
  k8s = outputs.k8sResources.${system};
  contains = needle: haystack:
    builtins.match ".*${needle}.*" (builtins.replaceStrings [ "\n" ] [ " " ] haystack) != null;

  checks = [
    { name = "overlay"; ok = names outputs.overlays == [ "default" ]; }
    { name = "packages"; ok = names outputs.packages.${system} == [ "default" "image-hello" "image-helloOnBusybox" "image-redis" "image-redisResolvedByNix" "image-redisWithShell" "nix-snapshotter" ]; }
    { name = "example images are named as the original's"; ok = outputs.packages.${system}.image-hello.image == "ghcr.io/pdtpartners/hello:latest" && outputs.packages.${system}.image-redisWithShell.image == "ghcr.io/pdtpartners/redis-shell:latest"; }
    { name = "push-* and load-* apps"; ok = outputs.apps.${system}.push-hello.type == "app" && contains "/bin/copy-to-containerd$" outputs.apps.${system}.load-redis.program; }
    { name = "k8sResources: redis pod from a nix:0 image"; ok = contains "^nix:0/nix/store/[a-z0-9]{32}-nix-image-redis.tar$" (builtins.head k8s.redisPod.spec.containers).image; }
    { name = "k8sResources: NodePort service on 30000"; ok = k8s.redisService.spec.type == "NodePort" && (builtins.head k8s.redisService.spec.ports).nodePort == 30000; }
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
    { name = "checks"; ok = names outputs.checks.${system} == builtins.sort builtins.lessThan (vmTests ++ [ "package" ]); }
    { name = "package is the overlay's"; ok = pkg.pname == "nix-snapshotter" && outputs.packages.${system}.nix-snapshotter.pname == "nix-snapshotter"; }
    { name = "tests and benchmarks off"; ok = pkg.cmakeFlags == [ "-DNIXSNAP_BUILD_TESTS=OFF" "-DNIXSNAP_BUILD_BENCH=OFF" ]; }
    { name = "passthru API"; ok = pkg ? buildImage && pkg ? copyToRegistry && pkg ? copyToContainerd; }
    { name = "mainProgram"; ok = pkg.meta.mainProgram == "nix-snapshotter"; }
    { name = "VM tests get the modules and k8sResources"; ok = k3sTest.name == "nix-snapshotter-k3s-external" && k3sTest.defaults.imports == [ outputs.nixosModules.default ] && k3sTest.node.specialArgs.k8sResources.redisService.kind == "Service"; }
    { name = "VM test files"; ok = k3sTest.imports == [ ../../vm/tests/k3s-external.nix ]; }
  ];
in
{
  inherit outputs;
  checks = {
    count = builtins.length checks;
    failures = map (c: c.name) (builtins.filter (c: !c.ok) checks);
  };
}
