#!/usr/bin/env bash
# nix2container load after an ordinary import of the same archive: `ctr image import
# --snapshotter nix` unpacks the layers WITHOUT the Nix labels (containerd 1.7 and 2.1
# pass no layer annotations), so a snapshot named by the Nix layer's chain ID exists
# without them. `nix2container load` must not reuse it: it replaces it (its progress
# says so, one line per step since stderr is no terminal) and the container then runs
# the program from its bind-mounted store paths. Before the fix the load skipped the
# layer and the container found empty mountpoints.
#
# Usage: tests/integration/image_load_reuse.sh 1.7|2.1     (root; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"

version="${1:?usage: image_load_reuse.sh 1.7|2.1}"
N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR}/nix2container}"
require_root
require_cmd nix-build nix-store
require_daemon_bin
require_snapctl
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
containerd_bin_dir "${version}" >/dev/null
tmp_root
T="${NIXSNAP_TMP}"
F="${NIXSNAP_FIXTURES}"
msg="hello after an ordinary import ${version}"
image="localhost/load-reuse:${version}"

step "build a Nix closure and its image"
hello="$(bash "${F}/nix_closure.sh" hello --seed "load-reuse-${version}-$$-${RANDOM}" \
  --message "${msg}" --out-link "${T}/hello-root")"
nix-store -qR "${hello}" >"${T}/closure"
printf '{"Entrypoint":["%s/bin/hello"]}\n' "${hello}" >"${T}/config.json"
"${N2C}" build --config "${T}/config.json" --closure "${T}/closure" --ref "${image}" \
  "${T}/image.tar" >/dev/null

step "start nix-snapshotter and containerd ${version}"
daemon_start nix-snapshotter "${T}/ns.sock" "${T}/root"
CONTAINERD_NIX_SOCKET="${T}/ns.sock" containerd_start "${version}" "${T}/cd"
wait_containerd_reaches_nix 60

step "ctr image import --snapshotter nix: the layer is unpacked without its Nix labels"
# containerd 2.x's transfer service has no unpack platform for a proxy snapshotter unless
# configured ("no unpack platforms defined"): import client-side, as 1.7's ctr does.
import_args=(--snapshotter nix)
[[ "${version}" == 1.* ]] || import_args+=(--local)
ctr_cmd images import "${import_args[@]}" "${T}/image.tar" >/dev/null
chain="$(ctr_cmd snapshots --snapshotter nix ls | awk 'NR > 1 && $NF == "Committed" { print $1 }')"
[[ -n "${chain}" ]] || fail "ctr image import unpacked nothing"
assert_not_contains "$(ctr_cmd snapshots --snapshotter nix info "${chain}")" "nix-store-path"
[[ -z "$(find "${T}/root/gcroots" -mindepth 2 2>/dev/null)" ]] || fail "GC roots before the load"

step "nix2container load replaces the label-less snapshot"
out="$("${N2C}" --address "${CONTAINERD_ADDRESS}" --namespace default load "${T}/image.tar" \
  2>"${T}/load.err")"
note "$(cat "${T}/load.err")"
assert_contains "${out}" "${image}"
assert_contains "$(cat "${T}/load.err")" "replacing layer 1/1"
assert_contains "$(cat "${T}/load.err")" "unpacked layer 1/1"
assert_contains "$(ctr_cmd snapshots --snapshotter nix info "${chain}")" "nix-store-path"
[[ -n "$(find "${T}/root/gcroots" -mindepth 2 2>/dev/null)" ]] || fail "no GC roots after the load"

step "the container runs the program from its store paths"
assert_eq "${msg}" "$(ctr_cmd run --rm --snapshotter nix "${image}" reuse1)" "container output"

step "loading again reuses the labelled snapshot"
"${N2C}" --address "${CONTAINERD_ADDRESS}" --namespace default load "${T}/image.tar" \
  >/dev/null 2>"${T}/load2.err"
assert_not_contains "$(cat "${T}/load2.err")" "replacing"

step "image_load_reuse on containerd ${version}: all good"
