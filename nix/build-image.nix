# buildImage: a Nix image archive whose single Nix layer names its closure.
#
# The layer holds no file contents, only mountpoints: at run time nix-snapshotter
# bind-mounts each store path of the closure (read-only) into the container, so the
# archive stays a few kilobytes whatever the closure's size (DESIGN.md section 1).
#
# This file only describes the build; the archive is written by
# `nix2container build` (see docs/nixos.md for the CLI). It takes exactly the few
# nixpkgs functions it uses, so tests/nix/run.sh can evaluate and build it against a
# small stand-in without nixpkgs.
{ lib, runCommand, writeText, closureInfo, nix2container }:

{
  # Image name without tag, e.g. "localhost/redis". Its last path component names
  # the derivation.
  name
, # Tag recorded in the archive's index (ignored when resolvedByNix).
  tag ? "latest"
, # OCI image config, as an attribute set: Entrypoint, Cmd, Env, WorkingDir, User,
  # ExposedPorts, Labels, Volumes, StopSignal (keys match case-insensitively).
  # Store paths interpolated here are part of the image's closure.
  config ? { }
, # Store paths (a derivation or a list) whose files are linked at "/" in the image.
  copyToRoot ? [ ]
, # A base image archive (OCI or docker archive, e.g. dockerTools.buildImage or
  # another buildImage): its layers come first.
  fromImage ? null
, # When true the image is named after its own store path: "nix:0$out:latest".
  # Kubernetes can then pull "nix:0/nix/store/...-nix-image-NAME.tar" through
  # nix-snapshotter's image service without any registry.
  resolvedByNix ? false
}:
let
  # Derivation names may not contain "/" or ":"; "localhost/redis" becomes "redis".
  shortName = baseNameOf name;

  roots = lib.toList copyToRoot;

  configFile = writeText "${shortName}-config.json" (builtins.toJSON config);

  copyToRootFile =
    writeText "${shortName}-copy-to-root.json" (builtins.toJSON (map toString roots));

  # The config file references every store path interpolated into the config, so its
  # closure plus the copyToRoot closures are everything the container may need.
  # nix2container names this closureInfo in the image (the nix-closure annotation).
  closure = closureInfo { rootPaths = [ configFile ] ++ roots; };

  refArgs =
    lib.optionalString (!resolvedByNix) "--ref ${lib.escapeShellArg "${name}:${tag}"}";

  fromImageArgs =
    lib.optionalString (fromImage != null) "--from-image ${lib.escapeShellArg "${fromImage}"}";

  image = runCommand "nix-image-${shortName}.tar"
    {
      passthru = {
        inherit name tag resolvedByNix configFile closure;
        # What a pod spec, `ctr run` or `nerdctl run` names this image by.
        imageRef = if resolvedByNix then "nix:0${image}" else "${name}:${tag}";
      };
    }
    ''
      ${nix2container}/bin/nix2container build \
        --config ${configFile} \
        --closure ${closure}/store-paths \
        --copy-to-root ${copyToRootFile} \
        ${fromImageArgs} \
        ${refArgs} \
        "$out"
    '';
in
image
