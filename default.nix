# The flake's outputs without flakes, for `import (builtins.fetchTarball "…/archive/main.tar.gz")`:
#
#   let nix-snapshotter = import ./path/to/nix-snapshotter; in {
#     imports = [ nix-snapshotter.nixosModules.default ];
#     nixpkgs.overlays = [ nix-snapshotter.overlays.default ];
#   }
#
# nixosModules, homeModules and overlays need no nixpkgs. packages, checks and the VMs
# take nixpkgs from <nixpkgs> when first used; to choose another, call the result:
#   (import ./path/to/nix-snapshotter) { nixpkgs = /path/to/nixpkgs; }
# Nothing is fetched (flake-compat is not used: it would need the network).
let
  flake = import ./flake.nix;

  outputsWith = nixpkgsSrc:
    let
      # A flake input's shape: the source tree plus its lib.
      # The nixpkgs flake adds nixosSystem to its lib; a plain nixpkgs tree has
      # nixos/lib/eval-config.nix for it.
      nixpkgs = {
        outPath = nixpkgsSrc;
        lib = import (nixpkgsSrc + "/lib") // {
          nixosSystem = args: import (nixpkgsSrc + "/nixos/lib/eval-config.nix") ({ system = null; } // args);
        };
      };
      outputs = flake.outputs { inherit self nixpkgs; };
      self = outputs // {
        outPath = ./.;
        inputs = { inherit nixpkgs; };
        inherit outputs;
      };
    in
    self;
in
outputsWith <nixpkgs> // {
  __functor = _: { nixpkgs ? <nixpkgs> }: outputsWith nixpkgs;
}
