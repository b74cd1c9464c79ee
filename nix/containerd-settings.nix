# containerd settings fragments written by the containerd modules, in two layouts:
#   "v2": config version 2 (containerd 1.7; containerd 2.x migrates it in memory), the
#         CRI plugin is plugins."io.containerd.grpc.v1.cri";
#   "v3": config version 3 (containerd 2.x), the CRI plugin is split into
#         plugins."io.containerd.cri.v1.images" and plugins."io.containerd.cri.v1.runtime".
# NixOS writes `version = 2` for the system containerd, so the rootful module uses "v2";
# the rootless module owns its whole file and picks the layout of its containerd.
{ lib }:
let
  # Where the CRI keys of each kind live in a layout.
  criImages = layout: attrs:
    if layout == "v3" then { plugins."io.containerd.cri.v1.images" = attrs; }
    else { plugins."io.containerd.grpc.v1.cri".containerd = attrs; };
  criRuntime = layout: attrs:
    if layout == "v3" then { plugins."io.containerd.cri.v1.runtime" = attrs; }
    else { plugins."io.containerd.grpc.v1.cri" = attrs; };
  # containerd's runtime settings ("containerd" table) within the runtime plugin.
  criRuntimes = layout: attrs: criRuntime layout { containerd = attrs; };

  goArch = {
    x86_64 = "amd64";
    aarch64 = "arm64";
    i686 = "386";
    riscv64 = "riscv64";
    powerpc64le = "ppc64le";
    s390x = "s390x";
  };
in
rec {
  # The layout for a containerd package.
  layoutFor = package: if lib.versionAtLeast (lib.getVersion package) "2.0" then "v3" else "v2";
  versionOf = layout: if layout == "v3" then 3 else 2;

  # containerd's platform string ("linux/amd64") for a Nix system ("x86_64-linux").
  platformOf = system:
    let cpu = builtins.head (lib.splitString "-" system);
    in "linux/${goArch.${cpu} or cpu}";

  # The CRI's default runtime and runc (cgroupfs, as the original's modules set it).
  base = { layout, defaultRuntime }: criRuntimes layout {
    default_runtime_name = defaultRuntime;
    runtimes.runc = {
      runtime_type = "io.containerd.runc.v2";
      options.SystemdCgroup = false;
    };
  };

  # CNI directories (NixOS writes the same bin_dir with the same priority).
  cni = { layout, binDir, confDir }: criRuntime layout {
    cni = {
      bin_dir = lib.mkOptionDefault binDir;
      conf_dir = lib.mkOptionDefault confDir;
    };
  };

  # What containerd needs to use nix-snapshotter:
  #   - the proxy plugin "nix" at nix-snapshotter's socket, exporting its root so the
  #     CRI reports that filesystem to kubelet (image GC);
  #   - CRI unpacks with snapshotter "nix" and passes layer annotations as snapshot
  #     labels (disable_snapshot_annotations = false): without them Nix layers unpack
  #     as plain tars and containers find empty mountpoints;
  #   - the transfer service (ctr 2.x, nerdctl, nix2container load) unpacks with "nix".
  nixSnapshotter = { layout, address, root, platform }: lib.mkMerge [
    {
      proxy_plugins.nix = {
        type = "snapshot";
        inherit address;
        exports.root = root;
      };
      plugins."io.containerd.transfer.v1.local".unpack_config = [{
        inherit platform;
        snapshotter = "nix";
      }];
    }
    (criImages layout {
      snapshotter = "nix";
      disable_snapshot_annotations = false;
    })
  ];

  gVisor = { layout }: criRuntimes layout {
    runtimes.runsc.runtime_type = "io.containerd.runsc.v1";
  };

  # CRI settings a containerd without root needs: no AppArmor, no cgroup writes, no
  # negative OOM scores.
  rootlessCri = { layout }: criRuntime layout ({
    disable_apparmor = true;
    restrict_oom_score_adj = true;
  } // lib.optionalAttrs (layout == "v2") {
    # containerd 2.x has no such switch: it skips cgroups it cannot write.
    disable_cgroup = true;
  });

  # What k3s expects of an external containerd (its CNI directories, its pause image,
  # unprivileged ports for pods).
  k3s = { layout, cniBinDir }: lib.mkMerge [
    (criRuntime layout {
      enable_unprivileged_ports = true;
      enable_unprivileged_icmp = true;
      enable_selinux = false;
      cni = {
        conf_dir = "/var/lib/rancher/k3s/agent/etc/cni/net.d/";
        bin_dir = cniBinDir;
      };
    })
    (if layout == "v3" then {
      plugins."io.containerd.cri.v1.images".pinned_images.sandbox = "rancher/mirrored-pause:3.6";
      plugins."io.containerd.grpc.v1.cri" = {
        stream_server_address = "127.0.0.1";
        stream_server_port = "10010";
      };
    } else {
      plugins."io.containerd.grpc.v1.cri" = {
        sandbox_image = "rancher/mirrored-pause:3.6";
        stream_server_address = "127.0.0.1";
        stream_server_port = "10010";
      };
    })
  ];
}
