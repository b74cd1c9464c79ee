#!/usr/bin/env bash
# Rootless end to end, real parts only: a throw-away unprivileged user (subordinate uid/gid
# ranges from useradd) runs scripts/nix-snapshotter-rootless (rootlesskit
# --net=slirp4netns with the builtin port driver, rootless containerd VERSION,
# nix-snapshotter joined to its namespaces through the child PID); realisation and GC-root
# registration go through a nix-daemon this test starts as root on the default socket
# (its only substituter: the test's file:// binary cache).
#   - the daemon logs the mount type it chose and why (kernel overlayfs with userxattr,
#     or fuse-overlayfs with --fuse);
#   - a hello Nix image built by nix2container loads with `nix2container load`, and
#     `ctr run --snapshotter nix` prints its output; the container sees exactly its closure;
#   - the user's GC roots are registered by the Nix daemon (root's gcroots/auto links to
#     the user's root symlinks); a closure missing from the store is substituted from the
#     binary cache during the rootless unpack while a collector runs over and over; the
#     roots keep the paths, go with the image, and then the collector takes the paths;
#   - CRI: PullImage nix:0<archive> through the user's image service (archive realised and
#     unpacked as the user), ImageStatus, RemoveImage (not repeated with --fuse);
#   - redis from a Nix image runs (--net-host in rootlesskit's network namespace) and
#     answers PING from the host on a port published with rootlessctl add-ports;
#   - refused cleanly: store-path labels outside the store, a root outside the user's
#     directories, a local store or unusable Nix daemon socket, another user on this
#     user's sockets.
# /dev/net/tun (slirp4netns) and, with --fuse, /dev/fuse are 0600 root on some machines:
# the test grants its user rw with an ACL (setfacl) and restores the ACL at the end.
# Cleanup (EXIT trap, also on failure): the user's processes by PID, mounts, files, the
# user, nix-daemon (by PID) and its socket when this test created it.
#
# Usage: tests/integration/rootless_e2e.sh 1.7|2.1 [--fuse]   (root; exit 77 = skipped)
#   --fuse: fuse_overlayfs = true. Without setfacl (Debian: acl) and a /dev/fuse the user
#   cannot open, checks the daemon's refusal and skips.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"
# shellcheck source=tests/integration/fixtures/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures/common.sh"

version="${1:?usage: rootless_e2e.sh 1.7|2.1 [--fuse]}"
fuse=0
[[ "${2:-}" == --fuse ]] && fuse=1
N2C="${NIXSNAP_BIN_DIR}/nix2container"
LAUNCHER="${NIXSNAP_REPO_ROOT}/scripts/nix-snapshotter-rootless"
SP=containerd.io/snapshot/nix-store-path
NIX_LAYER=containerd.io/snapshot/nix-layer

require_root
for tool in rootlesskit rootlessctl slirp4netns setfacl newuidmap newgidmap nsenter setpriv useradd nix-daemon nix-store redis-server redis-cli; do
  command -v "${tool}" >/dev/null || skip "${tool} not found (Debian: rootlesskit slirp4netns acl uidmap util-linux passwd nix-bin redis-server redis-tools)"
done
[[ -c /dev/net/tun ]] || skip "/dev/net/tun is missing (ls -l /dev/net/tun): slirp4netns needs it"
if ((fuse)); then
  command -v fuse-overlayfs >/dev/null || skip "fuse-overlayfs not found (apt-get install fuse-overlayfs)"
  [[ -c /dev/fuse ]] || skip "/dev/fuse is missing (ls -l /dev/fuse)"
fi
[[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ]] ||
  skip "user namespaces disabled (cat /proc/sys/user/max_user_namespaces)"
require_daemon_bin
require_snapctl
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
cbin="$(containerd_bin_dir "${version}")"
tmp_root
T="${NIXSNAP_TMP}"
chmod 0711 "${T}"

step "etc/systemd/user/nix-snapshotter-rootless.service passes systemd-analyze verify --user"
if command -v systemd-analyze >/dev/null; then
  mkdir -p "${T}/units" "${T}/units-run"
  sed "s|^ExecStart=/usr/local/bin/nix-snapshotter-rootless|ExecStart=${LAUNCHER}|" \
    "${NIXSNAP_REPO_ROOT}/etc/systemd/user/nix-snapshotter-rootless.service" \
    >"${T}/units/nix-snapshotter-rootless.service"
  # No user manager runs here (PID 1 is not systemd); --user only needs a runtime folder.
  verify_out="$(XDG_RUNTIME_DIR="${T}/units-run" systemd-analyze verify --user --man=no \
    "${T}/units/nix-snapshotter-rootless.service" 2>&1)" ||
    fail "systemd-analyze verify: ${verify_out}"
  ours="$(grep -F "${T}/units/" <<<"${verify_out}" || true)"
  [[ -z "${ours}" ]] || fail "systemd-analyze verify: ${ours}"
else
  note "systemd-analyze not installed (Debian package systemd): unit not verified"
fi

# --- the throw-away user -------------------------------------------------------------
user="nsrl$$"
home="${T}/home"
# nix-users: Debian's group for the daemon socket (/nix/var/nix/daemon-socket is 0770).
getent group nix-users >/dev/null && groups=(--groups nix-users) || groups=()
useradd --no-create-home --home-dir "${home}" --shell /bin/sh --user-group "${groups[@]}" "${user}"
defer remove_user
uid="$(id -u "${user}")"
if ! grep -q "^${user}:" /etc/subuid || ! grep -q "^${user}:" /etc/subgid; then
  usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "${user}"
fi
install -d -o "${user}" -g "${user}" -m 0700 "${home}" "${home}/run"
install -d -o "${user}" -m 0755 "/nix/var/nix/profiles/per-user/${user}"
run_dir="${home}/run"
data_dir="${home}/.local/share"
snap_root="${data_dir}/containerd/io.containerd.snapshotter.v1.nix"
cd_sock="${run_dir}/containerd/containerd.sock"
snap_sock="${run_dir}/nix-snapshotter/nix-snapshotter.sock"
child_pid_file="${run_dir}/nix-snapshotter-rootless/rootlesskit/child_pid"
user_path="${cbin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

# remove_user: the user's processes (by PID, from ps), their mounts, files, the user.
remove_user() {
  local pid _
  for _ in 1 2 3; do
    mapfile -t pids < <(ps -o pid= -u "${uid}" 2>/dev/null | tr -d ' ')
    ((${#pids[@]} == 0)) && break
    for pid in "${pids[@]}"; do kill -KILL "${pid}" 2>/dev/null || true; done
    sleep 0.5
  done
  unmount_below "${home}"
  rm -rf --one-file-system "${home}" "/nix/var/nix/profiles/per-user/${user}"
  userdel "${user}" 2>/dev/null || true
  # userdel drops the subordinate ranges of shadow >= 4.9; be sure.
  sed -i "/^${user}:/d" /etc/subuid /etc/subgid
}

# as_user CMD...: CMD as the user, outside the rootless namespaces (setpriv and env exec
# it: started with start_bg, the recorded PID is CMD's).
as_user_cmd=(setpriv --reuid="${uid}" --regid="${uid}" --init-groups
  env -i HOME="${home}" USER="${user}" LOGNAME="${user}" PATH="${user_path}"
  XDG_RUNTIME_DIR="${run_dir}" XDG_DATA_HOME="${data_dir}")
as_user() { "${as_user_cmd[@]}" "$@"; }
# in_ns CMD...: CMD as the user inside rootless containerd's user and mount namespaces.
in_ns() {
  as_user nsenter --user --mount --preserve-credentials --target "$(cat "${child_pid_file}")" -- "$@"
}
uctr() { in_ns "${cbin}/ctr" --address "${cd_sock}" "$@"; }
# urun ARGS...: ctr run as the user. --cgroup "": cgroup v1 (this machine: stat -fc %T
# /sys/fs/cgroup says tmpfs) gives an unprivileged user no cgroups, and runc runs without
# one only when the spec names none and sets no limit (ctr sets cpu-shares 1024).
urun() { uctr run --rm --cgroup "" --cpu-shares 0 --snapshotter nix "$@"; }
usnapctl() { in_ns "${SNAPCTL}" --address "${snap_sock}" "$@"; }
# grant_device DEV: read/write for the user through an ACL; the device's ACL is restored
# (setfacl --restore of what getfacl printed before) at exit, also on failure.
grant_device() {
  local saved
  saved="${T}/acl-$(basename "$1")"
  getfacl -p "$1" >"${saved}"
  defer setfacl --restore="${saved}"
  setfacl -m "u:${user}:rw" "$1"
}
# live_roots: the roots Nix's collector counts that lie in the user's snapshotter root.
live_roots() { nix-store --gc --print-roots 2>/dev/null | grep -F "${snap_root}/gcroots/" || true; }

# --- nix-daemon (multi-user Nix) ------------------------------------------------------
step "build the hello closure (root, single-user) and its images"
seed="rootless-${version}-${fuse}-$$-${RANDOM}"
msg="hello rootless ${version}"
hello="$(bash "${NIXSNAP_FIXTURES}/nix_closure.sh" hello --seed "${seed}" --message "${msg}" \
  --out-link "${T}/hello-root")"
nix-store -qR "${hello}" >"${T}/closure"
busybox_path="$(grep -- '-busybox-static$' "${T}/closure")"
printf '{"entrypoint":["%s/bin/hello"]}\n' "${hello}" >"${T}/config.json"
"${N2C}" build --config "${T}/config.json" --closure "${T}/closure" \
  --ref "localhost/rootless-hello:${version}" "${T}/hello.tar"
# A second closure, present only in the binary cache when the image loads.
hello2="$(bash "${NIXSNAP_FIXTURES}/nix_closure.sh" hello --seed "${seed}-cache" \
  --message "${msg} cached")"
nix-store -qR "${hello2}" >"${T}/closure2"
mapfile -t own2 < <(grep -v -- '-busybox-static$' "${T}/closure2")
bash "${NIXSNAP_FIXTURES}/make_binary_cache.sh" "${T}/cache" "${hello2}" >/dev/null
printf '{"entrypoint":["%s/bin/hello"]}\n' "${hello2}" >"${T}/config2.json"
"${N2C}" build --config "${T}/config2.json" --closure "${T}/closure2" \
  --ref "localhost/rootless-cached:${version}" "${T}/cached.tar"
nix-store --delete "${own2[@]}" >/dev/null 2>&1 || fail "could not delete ${own2[*]} locally"
chmod 0644 "${T}/hello.tar" "${T}/cached.tar"

step "start nix-daemon on the default socket (substituter: the file:// cache)"
daemon_sock=/nix/var/nix/daemon-socket/socket
if [[ -S "${daemon_sock}" ]] && NIX_REMOTE=daemon nix-store -q --hash "${busybox_path}" >/dev/null 2>&1; then
  skip "a nix-daemon already answers on ${daemon_sock}: this test needs its own"
fi
# Nobody answers on it, so a socket file there is stale (a killed daemon leaves one); left in
# place, it would pass for the new daemon's before that one listens.
rm -f "${daemon_sock}"
defer rm -f "${daemon_sock}"
start_bg nix-daemon env NIX_CONFIG=$'substituters = file://'"${T}/cache"$'\nrequire-sigs = false\nnarinfo-cache-negative-ttl = 0' \
  nix-daemon
daemon_pid="${BG_PID}"
# nix-daemon sees SIGTERM only when accept() returns: one connection after it ends the wait
# (runs before start_bg's stop, which then finds the daemon gone).
stop_nix_daemon() {
  kill -TERM "${daemon_pid}" 2>/dev/null || return 0
  NIX_REMOTE=daemon timeout 5 nix-store -q --hash "${busybox_path}" >/dev/null 2>&1 || true
}
defer stop_nix_daemon
# The socket file appears at bind(), before listen(): wait for an answer, not for the file.
wait_for_socket "${daemon_sock}" 60 "${daemon_pid}"
for ((i = 0; i < 300; i++)); do
  NIX_REMOTE=daemon nix-store -q --hash "${busybox_path}" >/dev/null 2>&1 && break
  is_running "${daemon_pid}" || fail "nix-daemon exited: $(cat "${NIXSNAP_TMP}/nix-daemon.log")"
  sleep 0.2
done
as_user env NIX_REMOTE=daemon nix-store -q --hash "${hello}" >/dev/null ||
  fail "the user cannot reach nix-daemon on ${daemon_sock}"

# --- the one command ------------------------------------------------------------------
step "start rootless containerd ${version} + nix-snapshotter as ${user}: ${LAUNCHER}"
# Distributions ship /dev/fuse 0666 and /dev/net/tun 0666; this machine keeps both 0600
# root (ls -l /dev/fuse /dev/net/tun).
if ((fuse)) && ! as_user test -r /dev/fuse -a -w /dev/fuse; then
  step "fuse-overlayfs forced but ${user} cannot open /dev/fuse: the daemon must refuse"
  printf 'fuse_overlayfs = true\n' >"${T}/fuse.toml"
  chmod 0644 "${T}/fuse.toml"
  assert_fails as_user timeout 20 env NIX_REMOTE=daemon "${NIXSNAP_BIN}" --config "${T}/fuse.toml" \
    --address "${home}/fuse.sock" --root "${home}/fuse-root"
  assert_contains "${ASSERT_OUTPUT}" "rootless: fuse_overlayfs = true but /dev/fuse"
  grant_device /dev/fuse
  note "/dev/fuse: rw for ${user} through an ACL for this test ($(getfacl -pc /dev/fuse | tr '\n' ' '))"
fi
as_user test -r /dev/net/tun -a -w /dev/net/tun || grant_device /dev/net/tun
launch_args=(--net slirp4netns)
((fuse)) && launch_args+=(--fuse-overlayfs)
start_bg launcher "${as_user_cmd[@]}" CONTAINERD="${cbin}/containerd" \
  NIX_SNAPSHOTTER="${NIXSNAP_BIN}" "${LAUNCHER}" "${launch_args[@]}"
launcher_pid="${BG_PID}"
wait_for_socket "${cd_sock}" 60 "${launcher_pid}"
wait_for_socket "${snap_sock}" 60 "${launcher_pid}"
log="${T}/launcher.log"
wait_until 20 grep -q 'mount type chosen' "${log}"
chosen="$(grep 'mount type chosen' "${log}")"
note "${chosen}"
assert_contains "${chosen}" "rootless=true"
if ((fuse)); then
  assert_contains "${chosen}" "type=fuse3.fuse-overlayfs"
  assert_contains "${chosen}" "fuse_overlayfs = true in the config"
else
  assert_contains "${chosen}" "type=overlay,userxattr"
fi
assert_eq "${uid}" "$(stat -c %u "${cd_sock}")" "containerd socket owner"
assert_eq "${uid}" "$(stat -c %u "${snap_sock}")" "nix-snapshotter socket owner"
wait_until 30 uctr snapshots --snapshotter nix ls
# containerd started first: its proxy connection may sit in gRPC reconnect backoff (calls
# fail fast meanwhile), and `snapshots ls` of an empty namespace does not reach the proxy.
# Wait until a snapshot made through containerd reaches nix-snapshotter (a fresh key each
# try: a half-done one cannot block the next).
probe_nix() {
  local key="rl-probe-${SRANDOM}"
  uctr snapshots --snapshotter nix prepare "${key}" >/dev/null &&
    uctr snapshots --snapshotter nix rm "${key}"
}
wait_until 60 probe_nix

# --- the hello image ------------------------------------------------------------------
step "nix2container load as ${user}"
out="$(in_ns "${N2C}" --address "${cd_sock}" --namespace default load "${T}/hello.tar")"
note "${out}"
assert_contains "$(uctr images ls -q)" "localhost/rootless-hello:${version}"

step "ctr run --snapshotter nix prints the program's output (rootless)"
assert_eq "${msg}" "$(urun "localhost/rootless-hello:${version}" rl1)" \
  "container output"
seen="$(urun "localhost/rootless-hello:${version}" rl2 \
  "${busybox_path}/bin/busybox" ls /nix/store | sort)"
assert_eq "$(xargs -n1 basename <"${T}/closure" | sort)" "${seen}" "store paths in the container"

# --- CRI: PullImage nix:0 through the user's image service (not repeated for --fuse) ----
CRI="${NIXSNAP_TOOLS_DIR}/cri/cri-client"
if ((!fuse)) && [[ -x "${CRI}" ]]; then
  step "CRI PullImage nix:0 through the user's nix-snapshotter image service"
  # The archive as buildImage { resolvedByNix = true; } makes it: $out named nix:0$out.
  archive="$(build_nix_image_archive "${T}" nix-image-hello.tar "${N2C}" "${hello}" \
    "{\"Entrypoint\":[\"${hello}/bin/hello\"]}")" ||
    fail "nix-build of the nix:0 archive failed"
  ucri() { in_ns "${CRI}" --image-endpoint "${snap_sock}" --runtime-endpoint "${cd_sock}" --timeout 60 "$@"; }
  image_ref="$(ucri pull "nix:0${archive}")"
  [[ "${image_ref}" == sha256:* ]] || fail "PullImage nix:0${archive}: ${image_ref}"
  note "PullImage nix:0${archive} -> ${image_ref}"
  assert_contains "$(uctr -n k8s.io images ls -q)" "nix:0${archive}:latest" "k8s.io images"
  assert_eq "${image_ref}" "$(ucri status "nix:0${archive}" | awk '{ print $1 }')" "ImageStatus"
  assert_contains "$(uctr -n k8s.io snapshots --snapshotter nix ls)" "Committed" "k8s.io snapshots"
  ucri rm "nix:0${archive}" >/dev/null
  assert_not_contains "$(uctr -n k8s.io images ls -q)" "nix:0${archive}" "k8s.io images after RemoveImage"
elif ((!fuse)); then
  note "cri-client not built at ${CRI}: rootless CRI PullImage not checked"
fi

step "the user's GC roots are registered by the Nix daemon and counted by the collector"
assert_contains "$(live_roots)" "${hello}" "nix does not count the user's roots"
# Registered through Nix: root's gcroots/auto (the user cannot write it) names them.
mapfile -t regs < <(find /nix/var/nix/gcroots/auto -maxdepth 1 -type l -lname "${snap_root}/gcroots/*")
((${#regs[@]} > 0)) || fail "no registration in /nix/var/nix/gcroots/auto names ${snap_root}"
assert_eq 0 "$(stat -c %u "${regs[0]}")" "owner of ${regs[0]} (written by nix-daemon)"
as_user test -w /nix/var/nix/gcroots/auto && fail "${user} can write gcroots/auto"

# --- substitution and GC --------------------------------------------------------------
step "a closure missing from the store is substituted during the rootless unpack, a collector running"
for p in "${own2[@]}"; do [[ ! -e "${p}" ]] || fail "${p} present before the load"; done
# The collector, over and over while the image loads: asked to delete exactly these paths
# (nix-store --delete: the collector's code and root scan, without collecting the shared
# store's other unrooted paths). Once a path is valid every attempt must be refused ("still
# alive"), or the path would be missing at the end: substitution does not run twice.
gc_loop() {
  local n=0 refused=0
  while [[ ! -e "${T}/gc-stop" ]]; do
    n=$((n + 1))
    nix-store --delete "${own2[@]}" >/dev/null 2>&1 || refused=$((refused + 1))
  done
  echo "${n} ${refused}" >"${T}/gc-count"
}
gc_loop &
gc_pid=$!
defer stop_pid "${gc_pid}" gc_loop
in_ns "${N2C}" --address "${cd_sock}" --namespace default load "${T}/cached.tar" >/dev/null
touch "${T}/gc-stop"
wait "${gc_pid}"
read -r gc_runs gc_refused <"${T}/gc-count"
note "the collector ran ${gc_runs} times during the load, refused (paths alive) ${gc_refused} times"
((gc_runs > 0)) || fail "the collector never ran during the load"
for p in "${own2[@]}"; do [[ -e "${p}" ]] || fail "${p} was not substituted (or collected)"; done
nix-store --check-validity "${own2[@]}" || fail "substituted paths not valid"
assert_eq "${msg} cached" "$(urun \
  "localhost/rootless-cached:${version}" rl3)" "output of the substituted closure"

step "the collector keeps the rooted paths"
nix-store --delete "${own2[@]}" >/dev/null 2>&1 && fail "nix deleted paths the user's image roots"
for p in "${own2[@]}"; do [[ -e "${p}" ]] || fail "${p} collected while rooted"; done

step "removing the image frees the user's GC roots; the collector takes the paths"
uctr images rm --sync "localhost/rootless-cached:${version}" >/dev/null
# (Each try is a whole root scan: slow on a loaded machine.)
wait_until 60 bash -c "! nix-store --gc --print-roots 2>/dev/null | grep -qF '${hello2}'"
assert_contains "$(live_roots)" "${hello}" "the other image's roots went too"
nix-store --delete "${own2[@]}" >/dev/null 2>&1 || fail "nix could not collect ${own2[*]}"
for p in "${own2[@]}"; do [[ ! -e "${p}" ]] || fail "${p} survived the collector"; done

# --- redis, published on the host ---------------------------------------------------
# rootlesskit --net=slirp4netns gives the user a network namespace of its own, so runc may
# mount sysfs for it: redis runs with --net-host there (with rootlesskit's --net=host it
# cannot: runc gets EPERM mounting sysfs for the host's network namespace), and
# `rootlessctl add-ports` publishes its port on the host's loopback (builtin port driver).
step "redis from a Nix image runs rootless and answers PING from the host (published port)"
redis="$(bash "${NIXSNAP_FIXTURES}/redis_closure.sh" --no-cli --out-link "${T}/redis-root")"
nix-store -qR "${redis}" >"${T}/redis-closure"
printf '{"entrypoint":["%s/bin/redis-server"]}\n' "${redis}" >"${T}/redis-config.json"
"${N2C}" build --config "${T}/redis-config.json" --closure "${T}/redis-closure" \
  --ref "localhost/rootless-redis:${version}" "${T}/redis.tar"
chmod 0644 "${T}/redis.tar"
in_ns "${N2C}" --address "${cd_sock}" --namespace default load "${T}/redis.tar" >/dev/null
port="$(free_port)"
uctr run -d --net-host --cgroup "" --cpu-shares 0 --snapshotter nix \
  "localhost/rootless-redis:${version}" rlredis \
  "${redis}/bin/redis-server" --port "${port}" --bind 127.0.0.1 --save "" >/dev/null
# The rootfs mount containerd got for it: the chosen flavour, with userxattr for the kernel.
rootfs_mount="$(uctr snapshots --snapshotter nix mounts /rootfs rlredis | grep ' /rootfs ')"
note "${rootfs_mount}"
if ((fuse)); then
  assert_contains "${rootfs_mount}" "-t fuse3.fuse-overlayfs"
else
  assert_contains "${rootfs_mount}" "-t overlay"
  assert_contains "${rootfs_mount}" "userxattr"
fi
api_sock="${run_dir}/nix-snapshotter-rootless/rootlesskit/api.sock"
as_user rootlessctl --socket "${api_sock}" add-ports "127.0.0.1:${port}:${port}/tcp" >/dev/null
note "published: $(as_user rootlessctl --socket "${api_sock}" list-ports | tail -n +2)"
rping() { redis-cli -h 127.0.0.1 -p "${port}" ping 2>/dev/null; }
wait_until 30 bash -c "[[ \"\$(redis-cli -h 127.0.0.1 -p ${port} ping 2>/dev/null)\" == PONG ]]"
assert_eq PONG "$(rping)" "redis-cli ping from the host"
uctr tasks kill -s KILL rlredis >/dev/null
wait_until 20 bash -c "! ps -o args= -u ${uid} | grep -q '^${redis}/bin/redis-server'"
uctr tasks delete rlredis >/dev/null 2>&1 || true
uctr containers delete rlredis >/dev/null
uctr images rm --sync "localhost/rootless-redis:${version}" >/dev/null

# --- what the user may not do ---------------------------------------------------------
step "refused: store-path labels outside the store"
for bad in /etc "/nix/store/../etc" "${hello}/../../../etc" "${snap_root}/gcroots"; do
  assert_fails usnapctl prepare evil-active --label "${NIX_LAYER}=true" --label "${SP}.0=${bad}"
  assert_contains "${ASSERT_OUTPUT}" "INVALID_ARGUMENT"
  assert_contains "${ASSERT_OUTPUT}" "${SP}.0"
done
assert_not_contains "$(usnapctl list 2>&1)" "evil-active" "a refused snapshot was left"

step "refused: a root outside the user's directories"
for bad in /var/lib/nixsnap-rootless-$$ "${T}"; do
  assert_fails as_user timeout 20 "${NIXSNAP_BIN}" --address "${home}/bad.sock" --root "${bad}/root"
  assert_contains "${ASSERT_OUTPUT}" "rootless: root \"${bad}/root\" cannot be used"
  [[ ! -e "${bad}/root" ]] || fail "a refused root was created: ${bad}/root"
done

step "refused: a local store, or a Nix daemon socket the user cannot use"
for remote in local "unix://${home}/no-such-daemon.sock"; do
  assert_fails as_user timeout 20 env NIX_REMOTE="${remote}" "${NIXSNAP_BIN}" \
    --address "${home}/bad.sock" --root "${home}/bad-root"
  if [[ "${remote}" == local ]]; then
    assert_contains "${ASSERT_OUTPUT}" "rootless: NIX_REMOTE=local cannot be used"
  else
    assert_contains "${ASSERT_OUTPUT}" "rootless: Nix daemon socket \"${home}/no-such-daemon.sock\""
  fi
  [[ ! -e "${home}/bad-root" ]] || fail "a refused daemon created its root"
done

step "refused: another user on this user's sockets"
for s in "${cd_sock}" "${snap_sock}"; do
  assert_fails setpriv --reuid=65534 --regid=65534 --clear-groups \
    "${cbin}/ctr" --address "${s}" --timeout 5s version
  assert_contains "${ASSERT_OUTPUT}" "permission denied"
done

step "no image left, no GC root left; the launcher stops both daemons on SIGTERM"
uctr images rm --sync "localhost/rootless-hello:${version}" >/dev/null
wait_until 60 bash -c "[[ -z \"\$(nix-store --gc --print-roots 2>/dev/null | grep -F '${snap_root}/gcroots/')\" ]]"
note "every image removed: the collector counts no root of the user's"
kill -TERM "${launcher_pid}"
wait_until 30 bash -c "! kill -0 ${launcher_pid} 2>/dev/null"
# (Zombies are not counted: a reaped-late shim is gone, its parent just has not waited.)
live_user_procs() { ps -o stat=,pid=,args= -u "${uid}" | awk '$1 !~ /^Z/'; }
for _ in $(seq 1 100); do [[ -z "$(live_user_procs)" ]] && break; sleep 0.2; done
[[ -z "$(live_user_procs)" ]] || fail "the user's processes outlived the launcher: $(live_user_procs)"

step "rootless ${version}$( ((fuse)) && echo ' (fuse-overlayfs)'): all good"
