{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    nix-snapshotter = {
      url = "github:pdtpartners/nix-snapshotter";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { nixpkgs, nix-snapshotter, ... }: {
    nixosConfigurations.myhost = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [
        ./hardware-configuration.nix
        ({ pkgs, ... }: {
          # (1) Import nixos module.
          imports = [ nix-snapshotter.nixosModules.default ];

          # (2) Add overlay.
          nixpkgs.overlays = [ nix-snapshotter.overlays.default ];

          # (3) Enable service.
          virtualisation.containerd = {
            enable = true;
            nixSnapshotterIntegration = true;
          };
          services.nix-snapshotter = {
            enable = true;
          };

          # (4) Add a containerd CLI like nerdctl.
          environment.systemPackages = [ pkgs.nerdctl ];
        })
      ];
    };
  };
}
