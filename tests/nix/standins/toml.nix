# A TOML writer for the stand-in pkgs.formats.toml (nixpkgs writes TOML with remarshal
# at build time; here the text is wanted at evaluation time). Covers what the modules
# write: tables, arrays of tables, strings, integers, booleans, lists of scalars.
{ lib }:
let
  inherit (builtins) isAttrs isList isBool isInt isFloat toJSON all;
  quoteKey = k: if builtins.match "[A-Za-z0-9_-]+" k != null then k else toJSON k;
  isTable = v: isAttrs v && !(v ? outPath);
  isTableList = v: isList v && v != [ ] && all isTable v;
  scalar = v:
    if isBool v then (if v then "true" else "false")
    else if isInt v || isFloat v then toString v
    else if isList v then "[${lib.concatMapStringsSep ", " scalar v}]"
    else toJSON (toString v);
  keyPath = path: lib.concatMapStringsSep "." quoteKey path;
  body = path: attrs:
    let
      names = lib.attrNames attrs;
      plain = lib.filter (n: !(isTable attrs.${n}) && !(isTableList attrs.${n})) names;
      tables = lib.filter (n: isTable attrs.${n}) names;
      tableLists = lib.filter (n: isTableList attrs.${n}) names;
    in
    lib.concatMapStrings (n: "${quoteKey n} = ${scalar attrs.${n}}\n") plain
    + lib.concatMapStrings (n: "\n[${keyPath (path ++ [ n ])}]\n" + body (path ++ [ n ]) attrs.${n}) tables
    + lib.concatMapStrings (n: lib.concatMapStrings
      (elem: "\n[[${keyPath (path ++ [ n ])}]]\n" + body (path ++ [ n ]) elem)
      attrs.${n}) tableLists;
in
value: body [ ] value
