#!/usr/bin/env bash
# Self-test of the containerd part of the rig, for one containerd version:
#   - containerd starts with lib.sh's config although the nix proxy socket does not exist,
#     and its effective config (config dump) has the CRI settings the Nix tests need;
#   - `ctr version` answers; the proxy snapshotter "nix" and the CRI plugin are listed;
#   - using the missing nix snapshotter fails (lazily, at use);
#   - a tiny busybox image (fixtures/make_busybox_image.sh) imports and `ctr run` runs it
#     with the built-in overlayfs snapshotter, its runc state in the test's directory
#     (not the host's /run/containerd/runc); a long-running task stops on SIGTERM;
#   - the same container id under a second containerd gets its own runc state and cgroup:
#     deleting one task leaves the other running (parallel tests reuse ids).
#
# Usage: tests/integration/containerd_rig_test.sh 1.7|2.1     (root; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version="${1:?usage: containerd_rig_test.sh 1.7|2.1}"
require_root
tmp_root

step "building the busybox test image"
read -r image _ < <("${NIXSNAP_FIXTURES}/make_busybox_image.sh" "${NIXSNAP_TMP}/busybox.tar")

step "starting containerd ${version} with a nix proxy socket that does not exist"
CONTAINERD_NIX_SOCKET="${NIXSNAP_TMP}/absent.sock" containerd_start "${version}" "${NIXSNAP_TMP}/cd"
[[ ! -e "${NIXSNAP_TMP}/absent.sock" ]] || fail "absent.sock should not exist"

step "effective config (containerd config dump)"
dump="$("${CONTAINERD_BIN}/containerd" --config "${CONTAINERD_DIR}/config.toml" config dump)"
for want in "snapshotter = .nix." "disable_snapshot_annotations = false" \
  "restrict_oom_score_adj = true" "BinaryName = .*runc" "Root = .${NIXSNAP_TMP}/cd/runc." \
  "address = .${NIXSNAP_TMP}/absent.sock." "localhost/nixsnap-busybox:latest"; do
  grep -Eq -- "${want}" <<<"${dump}" || fail "config dump lacks /${want}/"
done
note "CRI: snapshotter nix, snapshot annotations on, restrict_oom_score_adj, Debian runc"

step "ctr version"
out="$(ctr_cmd version)"
note "$(tr '\n' ' ' <<<"${out}")"
server="$(sed -n '/^Server:/,$p' <<<"${out}")"
assert_contains "${server}" "Server:" "ctr version shows no server part"
[[ "${server}" =~ Version:[[:space:]]+v?${version//./\\.}\. ]] || fail "server is not containerd ${version}: ${server}"

step "plugins: nix proxy snapshotter and CRI are registered"
plugins="$(ctr_cmd plugins ls)"
nix_line="$(grep -E 'io\.containerd\.snapshotter\.v1[[:space:]]+nix[[:space:]]' <<<"${plugins}" || true)"
[[ -n "${nix_line}" ]] || fail "no nix snapshotter plugin in: ${plugins}"
note "${nix_line}"
assert_contains "${nix_line}" "ok" "nix proxy plugin is not ok"
cri_line="$(grep -E 'io\.containerd\.grpc\.v1[[:space:]]+cri[[:space:]]' <<<"${plugins}" || true)"
note "${cri_line}"
assert_contains "${cri_line}" "ok" "CRI plugin did not load"

step "the missing nix snapshotter fails lazily, at use"
assert_fails ctr_cmd snapshots --snapshotter nix prepare rig-probe
note "$(head -n1 <<<"${ASSERT_OUTPUT}")"
is_running "${CONTAINERD_PID}" || fail "containerd died when the nix snapshotter was used"

step "ctr image import (overlayfs)"
ctr_cmd image import "${NIXSNAP_TMP}/busybox.tar" >&2
assert_contains "$(ctr_cmd image ls -q)" "${image}" "imported image not listed"

step "ctr run: a one-shot command"
# shellcheck disable=SC2016 # expanded by the container's shell
out="$(ctr_cmd run --rm --snapshotter overlayfs "${image}" rig-once \
  /bin/sh -c 'echo hello from $(cat /etc/passwd | head -n1 | cut -d: -f1) in $(uname -s)')"
assert_eq "hello from root in Linux" "${out}" "container output"
note "container said: ${out}"

step "ctr run: the image's default (pause-like) command stops on SIGTERM"
ctr_cmd run -d --snapshotter overlayfs "${image}" rig-pause >/dev/null
wait_until 30 bash -c "'${CONTAINERD_BIN}/ctr' --address '${CONTAINERD_ADDRESS}' task ls | grep -q 'rig-pause.*RUNNING'"
[[ -f "${CONTAINERD_DIR}/runc/default/rig-pause/state.json" ]] ||
  fail "runc state of rig-pause is not in ${CONTAINERD_DIR}/runc (ctr_cmd --runc-root)"
[[ ! -e /run/containerd/runc/default/rig-pause ]] ||
  fail "runc state of rig-pause is in the host's /run/containerd/runc"
ctr_cmd task kill -s SIGTERM rig-pause
wait_until 30 bash -c "'${CONTAINERD_BIN}/ctr' --address '${CONTAINERD_ADDRESS}' task ls | grep -q 'rig-pause.*STOPPED'"
ctr_cmd task delete rig-pause >/dev/null
ctr_cmd container delete rig-pause

step "the same container id under a second containerd: own runc state and cgroup"
# Parallel tests (the 1.7 and 2.1 variants) run the same ids: with host-wide runc state
# the second create fails (the id exists); a shared cgroup is removed by one's delete while
# the other may be joining it.
first=("${CONTAINERD_ADDRESS}" "${CONTAINERD_BIN}" "${CONTAINERD_PID}" "${CONTAINERD_DIR}")
CONTAINERD_NIX_SOCKET="${NIXSNAP_TMP}/absent.sock" containerd_start "${version}" "${NIXSNAP_TMP}/cd2"
second=("${CONTAINERD_ADDRESS}" "${CONTAINERD_BIN}" "${CONTAINERD_PID}" "${CONTAINERD_DIR}")
use() { # use first|second: point ctr_cmd at that containerd
  local -a c=("${first[@]}")
  [[ "$1" == first ]] || c=("${second[@]}")
  CONTAINERD_ADDRESS="${c[0]}" CONTAINERD_BIN="${c[1]}" CONTAINERD_PID="${c[2]}" CONTAINERD_DIR="${c[3]}"
}
twin_pid() { ctr_cmd task ls | awk '$1 == "rig-twin" { print $2 }'; }
twin_status() { ctr_cmd task ls | awk '$1 == "rig-twin" { print $3 }'; }
twin_cgroups=()
for c in second first; do
  use "${c}"
  [[ "${c}" == first ]] || ctr_cmd image import "${NIXSNAP_TMP}/busybox.tar" >/dev/null
  ctr_cmd run -d --snapshotter overlayfs "${image}" rig-twin >/dev/null
  assert_eq RUNNING "$(twin_status)" "rig-twin under the ${c} containerd"
  twin_cgroups+=("$(cat "/proc/$(twin_pid)/cgroup")")
  assert_contains "${twin_cgroups[-1]}" "/nixsnap-tests/${NIXSNAP_TMP##*/}-" "cgroup of rig-twin (${c})"
done
[[ "${twin_cgroups[0]}" != "${twin_cgroups[1]}" ]] || fail "both rig-twins share a cgroup"
ctr_cmd task kill -s SIGKILL rig-twin
wait_until 30 bash -c "[[ \$('${CONTAINERD_BIN}/ctr' --address '${CONTAINERD_ADDRESS}' task ls |
  awk '\$1 == \"rig-twin\" { print \$3 }') == STOPPED ]]"
ctr_cmd task delete rig-twin >/dev/null
ctr_cmd container delete rig-twin
use second
assert_eq RUNNING "$(twin_status)" "the second containerd's rig-twin after the first's delete"
use first

step "a task left running is cleaned up at exit"
ctr_cmd run -d --snapshotter overlayfs "${image}" rig-left >/dev/null

printf 'PASS: containerd %s rig\n' "${version}"
