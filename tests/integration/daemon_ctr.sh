#!/usr/bin/env bash
# nix-snapshotter behind a real containerd (1.7 or 2.1) as `[proxy_plugins.nix]`:
# `ctr snapshots --snapshotter nix` prepare, mounts (and really mount it), commit, view,
# ls, info, label, usage, tree, rm; then a daemon restart (SIGTERM, start again) under the
# same containerd: ls, info and mounts answer exactly as before.
#
# Usage: tests/integration/daemon_ctr.sh 1.7|2.1     (root; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"

version="${1:?usage: daemon_ctr.sh 1.7|2.1}"
require_root
require_daemon_bin
require_snapctl
containerd_bin_dir "${version}" >/dev/null
tmp_root
T="${NIXSNAP_TMP}"
sock="${T}/ns.sock"
root="${T}/root"

step "starting nix-snapshotter and containerd ${version}"
daemon_start nix-snapshotter "${sock}" "${root}"
pid="${DAEMON_PID}"
CONTAINERD_NIX_SOCKET="${sock}" containerd_start "${version}" "${T}/cd"
snap() { ctr_cmd snapshots --snapshotter nix "$@"; }

step "prepare a root snapshot: one rw bind mount of its fs"
out="$(snap prepare --mounts base-active)"
note "${out}"
assert_contains "${out}" '"bind"'
assert_contains "${out}" '"rw"'
assert_contains "${out}" "${root}/snapshots/"

step "mount it with the printed command and write a file"
mkdir -p "${T}/mnt"
mount_cmd="$(snap mounts "${T}/mnt" base-active)"
note "${mount_cmd}"
assert_contains "${mount_cmd}" "mount -t bind"
eval "${mount_cmd}"
echo "hello from base" >"${T}/mnt/hello.txt"
mkdir -p "${T}/mnt/etc"
umount "${T}/mnt"

step "commit, ls, info"
snap commit base base-active
ls_out="$(snap ls)"
note "${ls_out}"
grep -Eq '^base[[:space:]]+Committed' <<<"${ls_out}" || fail "base not listed as Committed: ${ls_out}"
assert_not_contains "${ls_out}" "base-active" "the active key is gone after commit"
info="$(snap info base)"
assert_contains "${info}" '"Name": "base"'
assert_contains "${info}" '"Kind": "Committed"'

step "prepare a child: overlay with lowerdir, upperdir, workdir; the file is visible"
out="$(snap prepare --mounts child base)"
note "${out}"
assert_contains "${out}" '"overlay"'
assert_contains "${out}" "lowerdir=${root}/snapshots/"
assert_contains "${out}" "upperdir="
assert_contains "${out}" "workdir="
eval "$(snap mounts "${T}/mnt" child)"
assert_eq "hello from base" "$(cat "${T}/mnt/hello.txt")" "file from the lower layer"
echo "child change" >"${T}/mnt/child.txt"
umount "${T}/mnt"

step "view of the single parent: a read-only bind"
out="$(snap view --mounts v1 base)"
note "${out}"
assert_contains "${out}" '"bind"'
assert_contains "${out}" '"ro"'
grep -Eq '^v1[[:space:]]+base[[:space:]]+View' <<<"$(snap ls)" || fail "view not listed: $(snap ls)"

step "label"
snap label base team=nix extra=1 >/dev/null
info="$(snap info base)"
assert_contains "${info}" '"team": "nix"'
assert_contains "${info}" '"extra": "1"'
snap label base extra= >/dev/null
info="$(snap info base)"
assert_contains "${info}" '"team": "nix"'
assert_not_contains "${info}" '"extra"'

step "usage: committed base holds a file, active child its own change"
usage="$(snap usage)"
note "${usage}"
grep -Eq '^base[[:space:]]+[0-9.]+ [KMG]?i?B[[:space:]]+[1-9]' <<<"${usage}" || fail "no usage for base: ${usage}"
grep -Eq '^child[[:space:]]' <<<"${usage}" || fail "no usage for child: ${usage}"

step "tree"
tree="$(snap tree)"
note "$(tr '\n' '|' <<<"${tree}")"
assert_contains "${tree}" "base"
grep -Eq '^[[:space:]]+(\\_ )?child' <<<"${tree}" || fail "child not under base in tree: ${tree}"

step "restart: SIGTERM the daemon; containerd sees it gone; start again"
before_ls="$(snap ls)"
before_info="$(snap info base; snap info child; snap info v1)"
before_mounts="$(snap mounts /x child; snap mounts /x v1)"
before_direct="$("${SNAPCTL}" --address "${sock}" list)"
daemon_stop "${pid}" nix-snapshotter
assert_fails snap prepare --mounts during-outage base
daemon_start nix-snapshotter-2 "${sock}" "${root}"
pid="${DAEMON_PID}"
# containerd redials a proxy with backoff (up to a few seconds between attempts); a loaded
# machine adds to that.
wait_until 60 ctr_cmd snapshots --snapshotter nix ls
assert_eq "${before_ls}" "$(snap ls)" "ctr snapshots ls after restart"
assert_eq "${before_info}" "$(snap info base; snap info child; snap info v1)" "info after restart"
assert_eq "${before_mounts}" "$(snap mounts /x child; snap mounts /x v1)" "mounts after restart"
assert_eq "${before_direct}" "$("${SNAPCTL}" --address "${sock}" list)" "daemon's own list"
eval "$(snap mounts "${T}/mnt" child)"
assert_eq "child change" "$(cat "${T}/mnt/child.txt")" "upper layer kept across restart"
umount "${T}/mnt"

step "rm: a parent with children is refused; children first, then the parent"
assert_fails snap rm base
snap rm child v1
snap rm base
assert_eq "" "$(snap ls | tail -n +2)" "no snapshots left in containerd"
# containerd removes from the proxy backend in its garbage collection: run one now.
containerd_gc_now
wait_until 60 bash -c "[[ -z \"\$('${SNAPCTL}' --address '${sock}' list)\" ]]"
note "backend empty: $("${SNAPCTL}" --address "${sock}" list | wc -l) snapshots"
is_running "${pid}" || fail "daemon died"

printf 'PASS: nix-snapshotter under containerd %s via ctr\n' "${version}"
