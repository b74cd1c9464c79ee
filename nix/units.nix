# Helpers shared by the NixOS and Home Manager modules.
{ lib }:
{
  # Units are written once, in Home Manager's shape ({ Unit; Service; Install; } with
  # systemd's own key names), and converted for NixOS' systemd.{user.,}services.
  toNixOS = unit: lib.mkMerge [
    (lib.mkIf (unit ? Unit) { unitConfig = unit.Unit; })
    (lib.mkIf (unit ? Service) { serviceConfig = unit.Service; })
    (lib.mkIf (unit ? Install.WantedBy) { wantedBy = unit.Install.WantedBy; })
  ];

  # Shell lines exporting CONTAINERD_* for a login shell, each only when unset, the
  # namespace only when not "default" and the snapshotter only when named.
  #   vars: { CONTAINERD_ADDRESS = "..."; ... } (values are double-quoted: $VARs expand)
  exportUnset = vars: lib.concatStrings (lib.mapAttrsToList
    (name: value: ''
      if [ -z "''${${name}:-}" ]; then
        export ${name}="${lib.escape [ "\\" "\"" "`" ] value}"
      fi
    '')
    vars);

  containerdVars = { address, namespace, snapshotter }:
    { CONTAINERD_ADDRESS = address; }
    // lib.optionalAttrs (namespace != "default") { CONTAINERD_NAMESPACE = namespace; }
    // lib.optionalAttrs (snapshotter != "") { CONTAINERD_SNAPSHOTTER = snapshotter; };
}
