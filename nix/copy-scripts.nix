# Scripts that move a buildImage archive somewhere useful:
#   copyToRegistry image { imageName?, imageTag?, plainHTTP? }  -> nix2container push
#   copyToContainerd image { address?, namespace? }             -> nix2container load
# Each is a store path of a shell script; run it (e.g. with `nix run`), extra arguments
# are appended to nix2container's subcommand arguments before the archive.
{ lib, writeShellScript, nix2container }:

let
  exe = "${nix2container}/bin/nix2container";

  # Global flags go before the subcommand; null leaves the default (and nix2container's
  # CONTAINERD_ADDRESS / CONTAINERD_NAMESPACE environment variables) in charge.
  globalFlags = { address ? null, namespace ? null }:
    lib.optionalString (address != null) "--address ${lib.escapeShellArg address} "
    + lib.optionalString (namespace != null) "--namespace ${lib.escapeShellArg namespace} ";
in
{
  copyToRegistry = image:
    { imageName ? image.name or (throw "copyToRegistry: imageName is required")
    , imageTag ? image.tag or "latest"
    , plainHTTP ? false
    }:
    writeShellScript "copy-to-registry-${baseNameOf imageName}" ''
      exec ${exe} push ${lib.optionalString plainHTTP "--plain-http "}--ref ${lib.escapeShellArg "${imageName}:${imageTag}"} "$@" ${image}
    '';

  copyToContainerd = image:
    { address ? null, namespace ? null }:
    writeShellScript "copy-to-containerd" ''
      exec ${exe} ${globalFlags { inherit address namespace; }}load "$@" ${image}
    '';
}
