# A small stand-in for nixpkgs' lib and module system, enough to evaluate
# modules/nixos/*.nix and modules/home/*.nix without nixpkgs (tests/nix/modules.nix).
#
# What it models: option declarations with defaults; mkIf, mkMerge, mkDefault,
# mkOptionDefault, mkForce pushed down through attribute sets (so a module may read
# `config` inside its own `config = mkIf cfg.enable { ... }`); priorities; lists
# concatenated; attribute sets merged; equal leaves agreeing, different ones a conflict.
# What it does not: types are not checked, submodules, imports, freeform checks.
let
  inherit (builtins) isAttrs isList isFunction attrNames concatMap filter all any
    foldl' listToAttrs head length elem;

  isDerivation = x: isAttrs x && (x.type or "") == "derivation";
  isOption = x: isAttrs x && (x._type or "") == "option";
  isProperty = x: isAttrs x && elem (x._type or "") [ "if" "merge" "override" ];
  isPlainAttrs = x: isAttrs x && !isDerivation x && !isOption x && !isProperty x;

  # A leaf with no surviving definition (all under false mkIf).
  noDefs = { _noDefs = true; };
  isNoDefs = x: isAttrs x && x ? _noDefs;

  mkOption = attrs: attrs // { _type = "option"; };
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };

  unique = list: foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ] list;

  # Whether a definition is an attribute set once its properties are peeled off
  # (without evaluating any mkIf condition).
  isAttrsDef = def:
    let t = def._type or ""; in
    if t == "if" || t == "override" then isAttrsDef def.content
    else if t == "merge" then all isAttrsDef def.contents
    else isPlainAttrs def;

  # mkIf c { a = x; } -> { a = mkIf c x; }, so names are known before conditions.
  pushDown = def:
    let t = def._type or ""; in
    if t == "merge" then concatMap pushDown def.contents
    else if t == "if" then map (builtins.mapAttrs (_: mkIf def.condition)) (pushDown def.content)
    else if t == "override" then
      map (builtins.mapAttrs (_: mkOverride def.priority)) (pushDown def.content)
    else [ def ];

  # Evaluates conditions of a leaf definition: [ { priority, value } ].
  discharge = def:
    let t = def._type or ""; in
    if t == "if" then (if def.condition then discharge def.content else [ ])
    else if t == "merge" then concatMap discharge def.contents
    else if t == "override" then
      map (d: d // { priority = def.priority; }) (discharge def.content)
    else [{ priority = 100; value = def; }];

  # Evaluates the mkIf conditions at the top of a definition, keeping overrides.
  resolveIfs = def:
    let t = def._type or ""; in
    if t == "if" then (if def.condition then resolveIfs def.content else [ ])
    else if t == "merge" then concatMap resolveIfs def.contents
    else if t == "override" then map (mkOverride def.priority) (resolveIfs def.content)
    else [ def ];

  # opts: the option tree at `path` (an option, a set of options, or null where nothing
  # is declared). Declared sets of options push properties down without evaluating
  # conditions (a module may read `config` under its own `mkIf cfg.enable`); declared
  # leaves look into a definition only once its conditions hold; undeclared paths
  # evaluate their conditions first, then merge by the shape of what is left.
  mergeDefs = path: opts: defs:
    let
      live = if opts == null then concatMap resolveIfs defs else defs;
    in
    if !(isOption opts) && live != [ ] && all isAttrsDef live then
      let
        pushed = concatMap pushDown live;
        names = unique (concatMap attrNames pushed);
        optsOf = name: if opts != null && opts ? ${name} then opts.${name} else null;
      in
      listToAttrs (map
        (name: {
          inherit name;
          value = mergeDefs (path ++ [ name ]) (optsOf name)
            (map (a: a.${name}) (filter (a: a ? ${name}) pushed));
        })
        names)
    else
      let
        all' = concatMap discharge live;
        best = foldl' (m: d: if d.priority < m then d.priority else m) 100000 all';
        values = map (d: d.value) (filter (d: d.priority == best) all');
      in
      if values == [ ] then noDefs
      else if all isList values then builtins.concatLists values
      else if all isPlainAttrs values then mergeDefs path null values
      else if all (v: v == head values) values then head values
      else throw "conflicting definitions of ${builtins.concatStringsSep "." path}";

  # Option defaults as definitions of priority 1500 (like nixpkgs' option defaults).
  optionDefaults = opts: listToAttrs (concatMap
    (name:
      let o = opts.${name}; in
      if isOption o then
        (if o ? default then [{ inherit name; value = mkOverride 1500 o.default; }] else [ ])
      else [{ inherit name; value = optionDefaults o; }])
    (attrNames opts));

  mergeOptions = trees: foldl'
    (acc: tree: acc // listToAttrs (map
      (name: {
        inherit name;
        value =
          if acc ? ${name} && !isOption acc.${name} && !isOption tree.${name}
          then mergeOptions [ acc.${name} tree.${name} ]
          else if acc ? ${name} then throw "option ${name} declared twice"
          else tree.${name};
      })
      (attrNames tree)))
    { }
    trees;

  # Drops leaves without definitions, and attribute sets emptied by that.
  clean = x:
    if isPlainAttrs x then
      listToAttrs (concatMap
        (name:
          let
            value = x.${name};
            cleaned = clean value;
          in
          if isNoDefs value then [ ]
          else if isPlainAttrs value && attrNames value != [ ] && attrNames cleaned == [ ] then [ ]
          else [{ inherit name; value = cleaned; }])
        (attrNames x))
    else x;

  # Names defined under `prefix` in `config` that no option declares (typos).
  undeclared = prefix: opts: cfg:
    concatMap
      (name:
        if !(opts ? ${name}) then [ (builtins.concatStringsSep "." (prefix ++ [ name ])) ]
        else if isOption opts.${name} then [ ]
        else if isPlainAttrs cfg.${name} then undeclared (prefix ++ [ name ]) opts.${name} cfg.${name}
        else [ ])
      (attrNames cfg);

  lib = rec {
    inherit mkOption mkIf mkMerge mkOverride;
    mkDefault = mkOverride 1000;
    mkOptionDefault = mkOverride 1500;
    mkForce = mkOverride 50;
    mkEnableOption = what: mkOption { type = types.bool; default = false; description = "Whether to enable ${what}."; };
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    types = {
      bool = "bool";
      str = "str";
      package = "package";
      path = "path";
      listOf = t: { listOf = t; };
      attrsOf = t: { attrsOf = t; };
      nullOr = t: { nullOr = t; };
    };
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalString = cond: s: if cond then s else "";
    toList = x: if isList x then x else [ x ];
    escapeShellArg = arg: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
    escapeShellArgs = args: builtins.concatStringsSep " " (map escapeShellArg args);
    makeBinPath = pkgs: builtins.concatStringsSep ":" (map (p: "${p}/bin") pkgs);
    versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
    getVersion = x: if x ? version then x.version else (builtins.parseDrvName x.name).version;
    hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
  };

  # Evaluates modules (functions or attribute sets) with `args` besides config and lib.
  evalModules = { modules, args }:
    let
      load = m: if builtins.isPath m then import m else m;
      results = map (m: let m' = load m; in if isFunction m' then m' (args // { inherit config lib; }) else m') modules;
      options = mergeOptions (map (r: r.options or { }) results);
      definitions = map (r: if r ? options || r ? config then r.config or { } else r) results;
      config = mergeDefs [ ] options ([ (optionDefaults options) ] ++ definitions);
    in
    {
      inherit options config;
      cleaned = clean config;
      undeclaredUnder = path:
        let
          at = set: foldl' (s: n: s.${n} or { }) set path;
        in
        undeclared path (at options) (at config);
    };
in
{
  inherit lib evalModules isNoDefs;
}
