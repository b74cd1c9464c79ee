{
  description = "nix-snapshotter (C++): a containerd snapshotter and CRI image service for Nix images, with nix2container";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      systems = [ "x86_64-linux" "aarch64-linux" ];

      pkgsFor = system: import nixpkgs {
        inherit system;
        overlays = [ self.overlays.default ];
      };

      forAllSystems = f: lib.genAttrs systems (system: f (pkgsFor system));

      # A VM configuration: vm/<file>.nix on top of the given system.
      mkVm = system: file: lib.nixosSystem {
        inherit system;
        modules = [
          self.nixosModules.default
          file
          { nixpkgs.overlays = [ self.overlays.default ]; }
        ];
      };

      vmApp = name: {
        type = "app";
        program =
          let cfg = self.nixosConfigurations.${name}.config;
          in "${cfg.system.build.vm}/bin/run-${cfg.networking.hostName}-vm";
      };
    in
    {
      overlays.default = final: prev: {
        nix-snapshotter = final.callPackage ./package.nix { };
      };

      packages = forAllSystems (pkgs:
        {
          default = pkgs.nix-snapshotter;
          nix-snapshotter = pkgs.nix-snapshotter;
        }
        # Example images (image-hello, image-redis, ...): `nix build .#image-hello`.
        // import ./nix/examples.nix { inherit pkgs; });

      # The redis pod and service of the demo (nix/k8s-resources.nix).
      k8sResources = forAllSystems (pkgs: import ./nix/k8s-resources.nix { inherit pkgs; });

      nixosModules = {
        default = {
          imports = [
            ./modules/nixos/nix-snapshotter.nix
            ./modules/nixos/nix-snapshotter-rootless.nix
            ./modules/nixos/containerd.nix
            ./modules/nixos/containerd-rootless.nix
            ./modules/nixos/preload-containerd.nix
            ./modules/nixos/preload-containerd-rootless.nix
            ./modules/nixos/k3s.nix
            ./modules/nixos/k3s-rootless.nix
          ];
        };
        nix-snapshotter = ./modules/nixos/nix-snapshotter.nix;
        nix-snapshotter-rootless = ./modules/nixos/nix-snapshotter-rootless.nix;
        containerd = ./modules/nixos/containerd.nix;
        containerd-rootless = ./modules/nixos/containerd-rootless.nix;
        preload-containerd = ./modules/nixos/preload-containerd.nix;
        preload-containerd-rootless = ./modules/nixos/preload-containerd-rootless.nix;
        k3s = ./modules/nixos/k3s.nix;
        k3s-rootless = ./modules/nixos/k3s-rootless.nix;
      };

      homeModules = {
        default = {
          imports = [
            ./modules/home/nix-snapshotter-rootless.nix
            ./modules/home/containerd-rootless.nix
            ./modules/home/preload-containerd-rootless.nix
          ];
        };
        nix-snapshotter-rootless = ./modules/home/nix-snapshotter-rootless.nix;
        containerd-rootless = ./modules/home/containerd-rootless.nix;
        preload-containerd-rootless = ./modules/home/preload-containerd-rootless.nix;
        k3s-rootless = ./modules/home/k3s-rootless.nix;
      };
      # The name older Home Manager setups look for.
      homeManagerModules = self.homeModules;

      nixosConfigurations = {
        vm = mkVm "x86_64-linux" ./vm/rootful.nix;
        vm-rootless = mkVm "x86_64-linux" ./vm/rootless.nix;
      };

      # push-<example> / load-<example> (nix/example-apps.nix), and the VMs.
      apps = forAllSystems (pkgs:
        import ./nix/example-apps.nix { examples = import ./nix/examples.nix { inherit pkgs; }; }
        // (if pkgs.system == "x86_64-linux" then {
          vm = vmApp "vm";
          vm-rootless = vmApp "vm-rootless";
          default = vmApp "vm";
        } else { }));

      checks = forAllSystems (pkgs:
        import ./vm/tests { inherit pkgs; nixosModule = self.nixosModules.default; }
        // { package = pkgs.nix-snapshotter; });

      formatter = forAllSystems (pkgs: pkgs.nixpkgs-fmt);

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ pkgs.nix-snapshotter ];
          packages = [ pkgs.gtest pkgs.gbenchmark pkgs.containerd pkgs.runc pkgs.skopeo ];
        };
      });
    };
}
