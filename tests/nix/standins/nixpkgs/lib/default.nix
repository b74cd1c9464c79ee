# nixpkgs' lib, as a nixpkgs tree has it (for default.nix's `import (<nixpkgs> + "/lib")`).
import ((builtins.getEnv "NIXSNAP_NIXPKGS_LIB") + "/lib")
