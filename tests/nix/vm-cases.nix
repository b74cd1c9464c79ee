# Checks of the VM configurations and VM tests (vm/**) that need no nixpkgs: each file
# is called as the module system would call it, with fake pkgs (images are attribute
# sets recording buildImage's arguments) and a few lib functions, and its definitions
# are inspected. Result: { count; failures = [ names ]; } (tests/nix/vm_logic.sh).
# What this cannot show (the real module system merging these with the project's and
# NixOS's modules, booting) is left to the VM tests on a machine with nixpkgs.
let
  inherit (builtins) attrNames concatMap elem filter isAttrs isList length map head all;

  lib = {
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkForce = content: { _type = "override"; priority = 50; inherit content; };
    hasInfix = infix: s: builtins.match ".*${escapeRegex infix}.*" s != null;
    splitString = sep: s: filter builtins.isString (builtins.split (escapeRegex sep) s);
    concatStringsSep = builtins.concatStringsSep;
    optionalAttrs = c: a: if c then a else { };
  };
  escapeRegex = builtins.replaceStrings [ "." "/" ":" "@" "$" ] [ "[.]" "[/]" "[:]" "[@]" "[$]" ];

  # An image: buildImage's arguments plus the passthru the VMs read.
  buildImage = args: args // {
    _image = true;
    image = if args.resolvedByNix or false
      then "nix:0/nix/store/00000000000000000000000000000000-nix-image-${args.name}.tar"
      else "${args.name}:${args.tag or "latest"}";
    copyToRegistry = a: { _copy = "registry"; inherit a; };
    copyToContainerd = a: { _copy = "containerd"; inherit a; };
    outPath = "/nix/store/00000000000000000000000000000000-nix-image.tar";
  };

  pkg = name: { inherit name; outPath = "/nix/store/00000000000000000000000000000000-${name}"; };
  pkgs = {
    nix-snapshotter = pkg "nix-snapshotter" // { inherit buildImage; };
    writeText = name: text: { inherit name text; };
    writeShellScript = name: text: pkg name;
    buildEnv = args: pkg args.name;
    dockerTools.buildImage = args: pkg "docker-image-${baseNameOf args.name}.tar.gz" // { dockerTools = args; };
  } // builtins.listToAttrs (map (n: { name = n; value = pkg n; }) [
    "bashInteractive" "busybox" "containerd" "coreutils" "cri-tools" "curl"
    "docker-distribution" "etcd" "hello" "jq" "kubectl" "nerdctl" "nix" "redis" "tini"
    "util-linux"
  ]);

  # A module file called with the given config (what it reads of it).
  call = file: config: import file {
    inherit lib pkgs config;
    modulesPath = "/modules";
    k8sResources = import ../../nix/k8s-resources.nix { inherit pkgs; };
  };

  rootful = call ../../vm/rootful.nix { virtualisation.containerd.setNamespace = "k8s.io"; };
  rootless = call ../../vm/rootless.nix { };
  common = call ../../vm/common.nix { };
  redisSpec = call ../../vm/redis-spec.nix { };
  sandbox = settings: call ../../vm/sandbox-image.nix { virtualisation.containerd.settings = settings; };
  sandboxImage = settings:
    let m = sandbox settings; img = head (head m.content.services.preload-containerd.targets).archives;
    in { inherit (m) condition; ref = "${img.name}:${img.tag}"; namespace = (head m.content.services.preload-containerd.targets).namespace; };
  cri17 = image: { plugins."io.containerd.grpc.v1.cri".sandbox_image = image; };

  pod = builtins.fromJSON redisSpec.environment.etc."kubernetes/redis/pod.json".source.text;
  service = builtins.fromJSON redisSpec.environment.etc."kubernetes/redis/service.json".source.text;

  names = images: map (i: i.name) images;
  rootfulTargets = rootful.services.preload-containerd.targets;
  rootlessTargets = rootless.services.preload-containerd.rootless.targets;

  # Every option path a VM test's nodes define under the project's option trees must be
  # one the modules declare (the original's names): a typo fails here, not in a VM.
  known = [
    "services.nix-snapshotter.enable" "services.nix-snapshotter.settings"
    "services.nix-snapshotter.rootless.enable"
    "virtualisation.containerd.enable" "virtualisation.containerd.nixSnapshotterIntegration"
    "virtualisation.containerd.k3sIntegration" "virtualisation.containerd.gVisorIntegration"
    "virtualisation.containerd.rootless.enable"
    "virtualisation.containerd.rootless.nixSnapshotterIntegration"
    "virtualisation.containerd.rootless.gVisorIntegration"
    "services.preload-containerd.enable" "services.preload-containerd.targets"
    "services.preload-containerd.rootless.enable" "services.preload-containerd.rootless.targets"
    "services.k3s.enable" "services.k3s.setKubeConfig" "services.k3s.snapshotter"
    "services.k3s.rootless.enable" "services.k3s.rootless.snapshotter"
    "services.kubernetes.roles" "services.kubernetes.masterAddress" "services.kubernetes.kubelet"
  ];
  trees = [ "services.nix-snapshotter" "virtualisation.containerd" "services.preload-containerd" "services.k3s" "services.kubernetes" ];
  # Option paths of a node's definitions: leaves, or where a known option starts.
  pathsOf = prefix: v:
    if elem prefix known then [ prefix ]
    else if isAttrs v && !(v ? _type) && !(v ? outPath) then
      concatMap (n: pathsOf (if prefix == "" then n else "${prefix}.${n}") v.${n}) (attrNames v)
    else [ prefix ];
  underTrees = p: builtins.any (t: p == t || lib.hasInfix "${t}." "${p}") trees && builtins.any (t: builtins.substring 0 (builtins.stringLength t) p == t) trees;
  nodeDefs = node:
    let
      m = if builtins.isFunction node then node { config = { virtualisation.containerd.setNamespace = "k8s.io"; services.kubernetes.pki.etcClusterAdminKubeconfig = "kubernetes/cluster-admin.kubeconfig"; }; k8sResources = import ../../nix/k8s-resources.nix { inherit pkgs; }; } else node;
      own = removeAttrs m [ "imports" ];
      imported = concatMap (i: if isAttrs i || builtins.isFunction i then [ i ] else [ ]) (m.imports or [ ]);
    in [ own ] ++ concatMap nodeDefs imported;
  testFiles = [ "snapshotter" "push-n-pull" "kubernetes" "k3s-external" "gvisor" ];
  tests = map (n: { name = n; value = import (../../vm/tests + "/${n}.nix") { inherit pkgs lib; config.name = n; }; }) testFiles;
  unknownOf = defs: filter (p: underTrees p && !(elem p known)) (pathsOf "" (removeAttrs defs [ "imports" ]));
  unknownIn = t: filter (p: underTrees p && !(elem p known))
    (concatMap (node: concatMap (pathsOf "") (nodeDefs node)) (builtins.attrValues t.value.nodes));

  checks = [
    { name = "vm: root logs in with password root"; ok = rootful.users.users.root.password == "root"; }
    { name = "vm: k3s on the external containerd with the kubeconfig set"; ok = rootful.services.k3s.enable && rootful.services.k3s.setKubeConfig && rootful.virtualisation.containerd.k3sIntegration && rootful.virtualisation.containerd.nixSnapshotterIntegration; }
    { name = "vm: nix-snapshotter enabled"; ok = rootful.services.nix-snapshotter.enable; }
    { name = "vm: hello, redis, redis-shell preloaded into setNamespace and default"; ok = map (t: t.namespace) rootfulTargets == [ "k8s.io" "default" ] && all (t: names t.archives == [ "ghcr.io/pdtpartners/hello" "ghcr.io/pdtpartners/redis" "ghcr.io/pdtpartners/redis-shell" ]) rootfulTargets; }
    { name = "vm: imports common, sandbox image"; ok = rootful.imports == [ ../../vm/common.nix ../../vm/sandbox-image.nix ]; }
    { name = "vm-rootless: rootless/rootless, lingering"; ok = rootless.users.users.rootless.password == "rootless" && rootless.users.users.rootless.linger; }
    { name = "vm-rootless: rootless containerd and nix-snapshotter"; ok = rootless.virtualisation.containerd.rootless.enable && rootless.virtualisation.containerd.rootless.nixSnapshotterIntegration && rootless.services.nix-snapshotter.rootless.enable; }
    { name = "vm-rootless: preload through $XDG_RUNTIME_DIR"; ok = (head rootlessTargets).address == "$XDG_RUNTIME_DIR/containerd/containerd.sock" && names (head rootlessTargets).archives == [ "ghcr.io/pdtpartners/hello" "ghcr.io/pdtpartners/redis" "ghcr.io/pdtpartners/redis-shell" ]; }
    { name = "common: demo tools"; ok = all (p: elem p (map (x: x.name) common.environment.systemPackages)) [ "kubectl" "nerdctl" "redis" "nix-snapshotter" ]; }
    { name = "redis-spec: pod image is nix:0 (resolvedByNix redis)"; ok = (head pod.spec.containers).image == "nix:0/nix/store/00000000000000000000000000000000-nix-image-redis.tar" && (head pod.spec.containers).args == [ "--protected-mode" "no" ]; }
    { name = "redis-spec: NodePort 30000 to the pod's 6379"; ok = service.spec.type == "NodePort" && (head service.spec.ports).nodePort == 30000 && (head service.spec.ports).targetPort == 6379 && service.spec.selector == pod.metadata.labels; }
    { name = "sandbox image: k3sIntegration default, normalised"; ok = sandboxImage { } == { condition = true; ref = "docker.io/rancher/mirrored-pause:3.6"; namespace = "k8s.io"; }; }
    { name = "sandbox image: official image gets library/"; ok = (sandboxImage (cri17 "pause:3.9")).ref == "docker.io/library/pause:3.9"; }
    { name = "sandbox image: a registry host is kept"; ok = (sandboxImage (cri17 "registry.k8s.io/pause:3.10")).ref == "registry.k8s.io/pause:3.10"; }
    { name = "sandbox image: no tag means latest"; ok = (sandboxImage (cri17 "localhost:5000/pause")).ref == "localhost:5000/pause:latest"; }
    { name = "sandbox image: containerd 2.x key"; ok = (sandboxImage { plugins."io.containerd.cri.v1.images".pinned_images.sandbox = "registry.k8s.io/pause:3.10"; }).ref == "registry.k8s.io/pause:3.10"; }
    { name = "sandbox image: a digest is not stood in for"; ok = !(sandbox (cri17 "registry.k8s.io/pause@sha256:0000")).condition; }
    { name = "VM tests: all seven have nodes and a test script"; ok = all (t: t.value ? nodes && t.value ? testScript) tests; }
  ] ++ map (v: { name = "${v.name}: only the modules' option names (unknown: ${toString (unknownOf v.value)})"; ok = unknownOf v.value == [ ]; })
    [ { name = "vm"; value = rootful; } { name = "vm-rootless"; value = rootless; } { name = "vm/sandbox-image.nix"; value = (sandbox { }).content; } ]
  ++ map (t: { name = "VM test ${t.name}: only the modules' option names (unknown: ${toString (unknownIn t)})"; ok = unknownIn t == [ ]; }) tests;
in
{
  count = length checks;
  failures = map (c: c.name) (filter (c: !c.ok) checks);
}
