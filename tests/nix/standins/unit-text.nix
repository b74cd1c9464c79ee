# Writes unit files from NixOS' systemd.services.<name> and Home Manager's
# systemd.user.services.<name> values, as those systems would (enough for
# `systemd-analyze verify`: sections, keys, lists, PATH from `path`).
{ lib }:
let
  value = v:
    if builtins.isBool v then (if v then "true" else "false")
    else if builtins.isList v then lib.concatMapStringsSep " " value v
    else toString v;
  section = name: attrs:
    let keys = lib.filterAttrs (_: v: v != [ ] && v != null) attrs;
    in lib.optionalString (keys != { }) ("[${name}]\n"
      + lib.concatStrings (lib.mapAttrsToList (k: v: "${k}=${value v}\n") keys) + "\n");
in
{
  hm = unit: lib.concatStrings (map (s: section s unit.${s})
    (lib.filter (s: unit ? ${s}) [ "Unit" "Service" "Install" ]));

  nixos = svc: section "Unit" ({
    Description = svc.description;
    Wants = svc.wants;
    Requires = svc.requires;
    After = svc.after;
    Before = svc.before;
    PartOf = svc.partOf;
    BindsTo = svc.bindsTo;
    X-Restart-Triggers = map toString svc.restartTriggers;
  } // svc.unitConfig)
  + section "Service" ({
    Environment = map (kv: ''"${kv}"'') (
      lib.mapAttrsToList (k: v: "${k}=${toString v}") svc.environment
      ++ [ "PATH=${lib.makeBinPath svc.path}:${lib.makeSearchPathOutput "bin" "sbin" svc.path}" ]);
  } // svc.serviceConfig)
  + section "Install" { WantedBy = svc.wantedBy; };
}
