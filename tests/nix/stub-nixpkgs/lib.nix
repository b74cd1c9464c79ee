# The lib functions flake.nix and package.nix use (see stub-nixpkgs/default.nix).
let
  removePrefix = prefix: s:
    let n = builtins.stringLength prefix; in
    if builtins.substring 0 n s == prefix then builtins.substring n (builtins.stringLength s - n) s else s;
in
{
  inherit removePrefix;
  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
  genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
  toList = x: if builtins.isList x then x else [ x ];
  toLower = builtins.replaceStrings
    (builtins.genList (i: builtins.substring i 1 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") 26)
    (builtins.genList (i: builtins.substring i 1 "abcdefghijklmnopqrstuvwxyz") 26);
  escapeShellArgs = args: builtins.concatStringsSep " " (map (a: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString a)}'") args);
  optionalString = cond: s: if cond then s else "";
  escapeShellArg = arg: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
  # Filters for real (builtins.path), so the package's source can be checked.
  cleanSourceWith = { src, filter, name ? "source" }:
    builtins.path { path = src; inherit name filter; };
  platforms.linux = [ "x86_64-linux" "aarch64-linux" ];
  # A NixOS system is not evaluated here: only its arguments are kept.
  nixosSystem = args: {
    inherit args;
    config = {
      networking.hostName = "stub-host";
      system.build.vm = "/nix/store/00000000000000000000000000000000-nixos-vm";
    };
  };
}
