# A small stand-in for the few nixpkgs functions nix/build-image.nix and
# nix/copy-scripts.nix call, made of raw `derivation`s whose builder is Debian's
# busybox-static (nixpkgs is not reachable here; DESIGN.md section 4).
#
#   busyboxDir:       absolute path of a directory holding a static `busybox`
#   nix2containerBin: absolute path of a directory holding bin/nix2container (the real
#                     one), or "" for a fake that records its arguments to $out
{ busyboxDir, nix2containerBin ? "" }:

let
  system = builtins.currentSystem;

  busyboxStatic = builtins.path { path = busyboxDir; name = "busybox-static"; };

  # busybox picks its applet from argv[0], so give every applet its own name once.
  busybox = derivation {
    name = "busybox-applets";
    inherit system;
    builder = "${busyboxStatic}/busybox";
    args = [ "sh" "-c" ''
      ${busyboxStatic}/busybox mkdir -p $out/bin
      ${busyboxStatic}/busybox --install -s $out/bin
    '' ];
  };

  shell = "${busybox}/bin/sh";

  removeAttrs' = attrs: builtins.removeAttrs attrs [ "passthru" ];

  runCommand = name: env: buildCommand:
    let
      drv = derivation (removeAttrs' env // {
        inherit name system buildCommand;
        builder = shell;
        args = [ "-e" "-c" "eval \"$buildCommand\"" ];
        PATH = "${busybox}/bin";
      });
    in
    drv // (env.passthru or { });

  writeText = name: text: derivation {
    inherit name system text;
    passAsFile = [ "text" ];
    builder = shell;
    args = [ "-e" "-c" "${busybox}/bin/cat \"$textPath\" > \"$out\"" ];
  };

  # Scripts run on the host (never inside a build here), under its POSIX sh: busybox's
  # sh would prefer its own applets (mount, nsenter) to the PATH the script sets.
  writeShellScript = name: text: derivation {
    inherit name system;
    text = "#!/bin/sh\n" + text;
    passAsFile = [ "text" ];
    builder = shell;
    args = [ "-e" "-c" ''
      ${busybox}/bin/cat "$textPath" > "$out"
      ${busybox}/bin/chmod 555 "$out"
    '' ];
  };

  # Like nixpkgs writeShellScriptBin: $out/bin/<name>, run by the host's /bin/sh as above.
  writeShellScriptBin = name: text: derivation {
    inherit name system;
    text = "#!/bin/sh\n" + text;
    passAsFile = [ "text" ];
    builder = shell;
    args = [ "-e" "-c" ''
      ${busybox}/bin/mkdir -p "$out/bin"
      ${busybox}/bin/cat "$textPath" > "$out/bin/${name}"
      ${busybox}/bin/chmod 555 "$out/bin/${name}"
    '' ];
  };

  # Like nixpkgs closureInfo: $out/store-paths lists the closure of rootPaths, sorted,
  # and $out/registration holds the graphs (nix-snapshotter requires both files).
  # Each exportReferencesGraph file holds records "path, deriver, count, count refs".
  closureInfo = { rootPaths }:
    let
      graphs = builtins.concatLists
        (builtins.genList (i: [ "closure-${toString i}" (builtins.elemAt rootPaths i) ])
          (builtins.length rootPaths));
    in
    runCommand "closure-info" { exportReferencesGraph = graphs; } ''
      mkdir $out
      cat closure-* | awk '
        state == 0 { print; state = 1; next }
        state == 1 { state = 2; next }
        state == 2 { left = $1; state = (left > 0) ? 3 : 0; next }
        state == 3 { left--; if (left == 0) state = 0; next }
      ' | sort -u > $out/store-paths
      cat closure-* > $out/registration
    '';

  lib = {
    toList = x: if builtins.isList x then x else [ x ];
    toLower = builtins.replaceStrings
      (builtins.genList (i: builtins.substring i 1 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") 26)
      (builtins.genList (i: builtins.substring i 1 "abcdefghijklmnopqrstuvwxyz") 26);
    optionalString = cond: s: if cond then s else "";
    escapeShellArg = arg: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
    escapeShellArgs = args: builtins.concatStringsSep " " (map lib.escapeShellArg args);
    makeBinPath = pkgs: builtins.concatStringsSep ":" (map (p: "${p}/bin") pkgs);
  };

  # A package whose bin/<name> programs append "<name> <args...>" to $NIXSNAP_FAKE_LOG,
  # then run `extra` (shell code, may use "$@").
  #   programs: { <name> = "<extra shell code>"; }
  recorders = name: programs: runCommand name { } (builtins.concatStringsSep "\n" ([ "mkdir -p $out/bin" ]
    ++ map
      (prog: ''
        cat > $out/bin/${prog} <<'SCRIPT'
        #!${shell}
        echo "${prog} $*" >> "$NIXSNAP_FAKE_LOG"
        ${programs.${prog}}
        SCRIPT
        chmod 555 $out/bin/${prog}
      '')
      (builtins.attrNames programs)));

  # Writes one line per argument ("ARG <value>") to $NIX2CONTAINER_ARGS_FILE when set
  # (tests running the copy scripts), else to its last argument (the build's $out).
  fakeNix2container = runCommand "fake-nix2container" { } ''
    mkdir -p $out/bin
    cat > $out/bin/nix2container <<'SCRIPT'
    #!${shell}
    for last in "$@"; do :; done
    for arg in "$@"; do printf 'ARG %s\n' "$arg"; done > "''${NIX2CONTAINER_ARGS_FILE:-$last}"
    SCRIPT
    chmod 555 $out/bin/nix2container
  '';

  realNix2container = builtins.path { path = nix2containerBin; name = "nix2container"; };
in
{
  inherit lib runCommand writeText writeShellScript writeShellScriptBin closureInfo busybox recorders;
  nix2container = if nix2containerBin == "" then fakeNix2container else realNix2container;
  nix2containerIsFake = nix2containerBin == "";
}
