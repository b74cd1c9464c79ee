# The two ways out of the store for a buildImage archive, as packages with one program:
#   copyToRegistry image { imageName?, imageTag?, plainHTTP? } -> bin/copy-to-registry
#     nix2container push --ref NAME:TAG [--plain-http] [ARGS...] IMAGE
#   copyToContainerd image { address?, namespace? }             -> bin/copy-to-containerd
#     nix2container [--address A] [--namespace N] load [ARGS...] IMAGE
# Arguments given to the program go before the archive (e.g. --authfile F for push).
# Every value is quoted; only `address` may name environment variables
# ("$XDG_RUNTIME_DIR/containerd/containerd.sock"), expanded when the program runs
# (nix/shell-word.nix).
{ lib, writeShellScriptBin, nix2container }:

let
  exe = lib.escapeShellArg "${nix2container}/bin/nix2container";
  quote = lib.escapeShellArg;
  shellWord = import ./shell-word.nix { inherit lib; };
in
{
  copyToRegistry = image:
    # buildImage's passthru name/tag; dockerTools' imageName/imageTag.
    { imageName ? image.imageName or image.name or (throw "copyToRegistry: imageName is required for ${toString image}")
    , imageTag ? image.imageTag or image.tag or "latest"
    , plainHTTP ? false
    }:
    writeShellScriptBin "copy-to-registry" ''
      exec ${exe} push --ref ${quote "${lib.toLower imageName}:${imageTag}"} ${lib.optionalString plainHTTP "--plain-http "}"$@" ${quote "${image}"}
    '';

  # null leaves nix2container's defaults in charge: $CONTAINERD_ADDRESS, else
  # /run/containerd/containerd.sock; $CONTAINERD_NAMESPACE, else "default".
  copyToContainerd = image:
    { address ? null, namespace ? null }:
    writeShellScriptBin "copy-to-containerd" ''
      exec ${exe} ${lib.optionalString (address != null) "--address ${shellWord "copyToContainerd address" address} "}${lib.optionalString (namespace != null) "--namespace ${quote namespace} "}load "$@" ${quote "${image}"}
    '';
}
