# buildImage: an image archive whose Nix layer names the image's closure.
#
#   buildImage { name, tag ? "latest", resolvedByNix ? false, fromImage ? null,
#                copyToRoot ? null, config ? {} }
#
# The Nix layer holds no file contents, only mountpoints: at run time nix-snapshotter
# bind-mounts each store path of the closure (read-only) into the container, so the
# archive stays a few kilobytes whatever the closure's size (DESIGN.md section 1).
# The result is the archive (a derivation) with passthru:
#   name, tag        as given
#   image            what a pod spec, `nerdctl run` or `ctr run` names the image by:
#                    "nix:0<archive>" when resolvedByNix, else "<lower-case name>:<tag>"
#   copyToRegistry   { imageName?, imageTag?, plainHTTP? } -> package with bin/copy-to-registry
#   copyToContainerd { address?, namespace? }              -> package with bin/copy-to-containerd
#   imageRef (= image), resolvedByNix, configFile, closure (the closureInfo)
#
# It takes exactly the few nixpkgs functions it uses, so tests/nix/run.sh can evaluate
# and build it against a small stand-in without nixpkgs.
{ lib, runCommand, writeText, writeShellScriptBin, closureInfo, nix2container }:

let
  scripts = import ./copy-scripts.nix { inherit lib writeShellScriptBin nix2container; };

  # Derivation names allow [A-Za-z0-9+._?=-] and must not start with a dot.
  sanitize = s:
    let cleaned = builtins.concatStringsSep "-"
      (builtins.filter builtins.isString (builtins.split "[^a-z0-9+._?=-]+" (lib.toLower s)));
    in if cleaned == "" || builtins.substring 0 1 cleaned == "." then "image${cleaned}" else cleaned;
in
{
  # Image name without tag, e.g. "ghcr.io/pdtpartners/redis". Written in lower case
  # (a reference's repository must be); its last component names the derivation.
  name
, # Tag recorded in the archive's index (ignored when resolvedByNix).
  tag ? "latest"
, # When true the archive is named after its own store path, "nix:0$out": a pod uses
  # `image: nix:0/nix/store/...-nix-image-NAME.tar` and kubelet pulls it through
  # nix-snapshotter's image service, no registry involved (docs/cri.md).
  resolvedByNix ? false
, # A base image: an OCI or docker archive, possibly gzip/zstd compressed, as made by
  # dockerTools.buildImage, dockerTools.pullImage, `docker save` or another buildImage.
  # Its layers come first (docs/image-format.md, "Base images").
  fromImage ? null
, # A derivation or a list of them whose files are linked at "/" in the image.
  copyToRoot ? null
, # The OCI config section: Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts,
  # Labels, Volumes, StopSignal (keys match case-insensitively). Store paths
  # interpolated here are part of the image's closure.
  config ? { }
}:
let
  baseName = sanitize (baseNameOf name);

  roots = if copyToRoot == null then [ ] else lib.toList copyToRoot;

  configFile = writeText "config-${baseName}.json" (builtins.toJSON config);

  copyToRootFile = writeText "copy-to-root-${baseName}.json" (builtins.toJSON (map toString roots));

  # The config file references every store path interpolated into the config, so its
  # closure plus the copyToRoot closures are everything the container may need.
  # nix2container names this closureInfo in the image (the nix-closure annotation).
  closure = closureInfo { rootPaths = [ configFile ] ++ roots; };

  ref = "${lib.toLower name}:${tag}";

  quote = lib.escapeShellArg;

  image = runCommand "nix-image-${baseName}.tar"
    {
      passthru = {
        inherit name tag resolvedByNix configFile closure;
        image = imageRef;
        imageRef = imageRef;
        copyToRegistry = scripts.copyToRegistry image;
        copyToContainerd = scripts.copyToContainerd image;
      };
    }
    "${quote "${nix2container}/bin/nix2container"} build ${lib.escapeShellArgs buildArgs} \"$out\"";

  buildArgs = [
    "--config" "${configFile}"
    "--closure" "${closure}/store-paths"
    "--copy-to-root" "${copyToRootFile}"
  ]
  ++ (if fromImage != null then [ "--from-image" "${fromImage}" ] else [ ])
  ++ (if resolvedByNix then [ ] else [ "--ref" ref ]);

  imageRef = if resolvedByNix then "nix:0${image}" else ref;
in
image
