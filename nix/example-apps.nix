# The flake's push-<name> and load-<name> apps for nix/examples.nix's images, as the
# original's: `nix run .#push-hello` copies ghcr.io/pdtpartners/hello to its registry
# (docker credentials), `nix run .#load-hello` loads it into the user's rootless
# containerd ($XDG_RUNTIME_DIR/containerd/containerd.sock, expanded when it runs).
#   examples: nix/examples.nix's result
{ examples }:

let
  shortName = attr: builtins.substring 6 (builtins.stringLength attr - 6) attr; # "image-hello" -> "hello"
  app = program: { type = "app"; inherit program; };
  address = "$XDG_RUNTIME_DIR/containerd/containerd.sock";
  forEach = prefix: f: builtins.listToAttrs (map
    (attr: { name = prefix + shortName attr; value = app (f examples.${attr}); })
    (builtins.attrNames examples));
in
forEach "push-" (image: "${image.copyToRegistry { }}/bin/copy-to-registry")
// forEach "load-" (image: "${image.copyToContainerd { inherit address; }}/bin/copy-to-containerd")
