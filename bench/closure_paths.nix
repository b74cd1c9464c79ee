# Valid store paths for bench/closure_bench.sh, made in one evaluation without any build:
# `layers` roots, each a text file (builtins.toFile) naming `count` small files of its
# own, so each root's closure is count + 1 paths. Evaluate with
#   nix-instantiate --eval --strict --json --read-write-mode closure_paths.nix --arg count N
# which prints the roots (a JSON list). `seed` makes the paths distinct between runs.
{ count, layers ? 1, seed ? "" }:
let
  layer = l:
    let
      file = i: builtins.toFile "bench-c${toString l}-p${toString i}"
        "nixsnap closure bench ${seed} ${toString l} ${toString i}\n";
    in
    builtins.toFile "bench-c${toString l}-root"
      (builtins.concatStringsSep "\n" (builtins.genList file count) + "\n");
in
builtins.genList layer layers
