# shellWord: a string as ONE shell word in which only environment-variable references
# ($NAME or ${NAME}) are expanded, when the script runs; everything else is quoted.
#
#   shellWord "$XDG_RUNTIME_DIR/containerd/containerd.sock"
#     -> "${XDG_RUNTIME_DIR:?...is not set}"'/containerd/containerd.sock'
#
# Lets the original's address = "$XDG_RUNTIME_DIR/..." work for rootless users
# without eval: no command substitution, globbing or word splitting can happen. A `$`
# that does not start a variable reference ("$(...)", "$1", "${X:-y}") is refused when
# the expression is evaluated, naming the string. An unset variable stops the script
# with a message naming it (an empty socket path would silently mean the default).
{ lib }:

let
  quote = lib.escapeShellArg;

  # builtins.split keeps the captures of each match: [ text [ braced bare ] text ... ].
  pattern = "\\$(\\{([A-Za-z_][A-Za-z0-9_]*)}|([A-Za-z_][A-Za-z0-9_]*))";

  render = what: part:
    if builtins.isList part then
      let name = if builtins.elemAt part 1 != null then builtins.elemAt part 1 else builtins.elemAt part 2;
      in "\"\${${name}:?${what}: ${name} is not set}\""
    else if part == "" then ""
    else if builtins.match ".*[$].*" part != null then
      throw "${what}: ${builtins.toJSON part} has a `$` that is not an environment variable reference ($NAME or \${NAME})"
    else quote part;
in
# what: names the caller in messages, e.g. "copyToContainerd address".
what: str:
let
  parts = builtins.split pattern str;
  word = builtins.concatStringsSep "" (map (render what) parts);
in
if str == "" then quote "" else word
