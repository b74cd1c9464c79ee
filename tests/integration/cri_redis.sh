#!/usr/bin/env bash
# Kubernetes without kubelet: containerd (1.7 or 2.1, given as $1) with its CRI plugin on
# snapshotter nix, nix-snapshotter serving the CRI image service on its socket, and
# cri-client doing what kubelet does.
#
#   1. A real redis closure is built into a Nix image archive BY A NIX DERIVATION whose
#      builder runs nix2container build ($out named nix:0$out:latest) from a closureInfo
#      (the closure format: one nix-closure annotation, as buildImage writes).
#   2. PullImage nix:0/nix/store/...-nix-image-redis.tar through nix-snapshotter; then
#      ImageStatus finds it by the reference, the reference with :latest and the image
#      ref; RunPodSandbox (host network) + CreateContainer + StartContainer run
#      redis-server --protected-mode no --port P; redis-cli -p P ping answers PONG.
#      ListImages shows it; RemoveImage removes it.
#   3. A regular reference from a plain-HTTP docker-registry on loopback falls through to
#      containerd and runs too.
#   4. Bad input (not a store path, not an image archive, cannot be realised, malformed,
#      containerd down) gives the right gRPC code and leaves nothing in containerd; the
#      service recovers when containerd comes back.
# Usage: cri_redis.sh 1.7|2.1     Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${here}/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "${here}/daemon_common.sh"
# shellcheck source=tests/integration/fixtures/common.sh
source "${here}/fixtures/common.sh"

version="${1:-1.7}"
require_root
require_cmd nix-build nix-store redis-server redis-cli patchelf skopeo curl
[[ -x /usr/bin/docker-registry ]] || skip "docker-registry not installed"
[[ -x "${NIXSNAP_BIN}" ]] || skip "nix-snapshotter not built at ${NIXSNAP_BIN}"
N2C="${NIXSNAP_BIN_DIR}/nix2container"
[[ -x "${N2C}" ]] || skip "nix2container not built at ${N2C}"
CRI="${NIXSNAP_TOOLS_DIR}/cri/cri-client"
[[ -x "${CRI}" ]] || skip "cri-client not built at ${CRI}"
require_snapctl
containerd_bin_dir "${version}" >/dev/null
tmp_root
T="${NIXSNAP_TMP}"

# --- fixtures -------------------------------------------------------------------------
step "redis closure (Debian's redis-server, patchelf'ed into the store)"
redis="$("${NIXSNAP_FIXTURES}/redis_closure.sh" --out-link "${T}/redis")"
note "${redis}"

step "nix image archive built by a Nix derivation that runs nix2container build"
# As buildImage { resolvedByNix = true; } makes it (fixtures/nix_image_archive.nix): the
# closure format (one nix-closure annotation), the archive $out named nix:0$out:latest.
archive="$(build_nix_image_archive "${T}" nix-image-redis.tar "${N2C}" "${redis}" \
  "{\"Entrypoint\":[\"${redis}/bin/redis-server\"],\"Env\":[\"PATH=${redis}/bin\"]}")" ||
  fail "nix-build of the image failed"
note "${archive}"
[[ "${archive}" == /nix/store/*-nix-image-redis.tar ]] || fail "unexpected archive path ${archive}"
nix_ref="nix:0${archive}"

step "sandbox (pause-like) image"
"${NIXSNAP_FIXTURES}/make_busybox_image.sh" "${T}/busybox.tar" >/dev/null

# --- daemons --------------------------------------------------------------------------
nix_sock="${T}/ns.sock"
cdir="${T}/c"
export CONTAINERD_NIX_SOCKET="${nix_sock}"
export CONTAINERD_REGISTRY_CONFIG_PATH="${T}/certs.d"
mkdir -p "${CONTAINERD_REGISTRY_CONFIG_PATH}"

step "docker-registry on loopback (plain HTTP), with busybox pushed by skopeo"
mkdir -p "${T}/registry"
cat >"${T}/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: ${T}/registry
YML
start_registry registry "${T}/registry.yml"
reg_port="${REGISTRY_PORT}"
reg_ref="127.0.0.1:${reg_port}/nixsnap/busybox:1"
skopeo copy -q --dest-tls-verify=false "oci-archive:${T}/busybox.tar" "docker://${reg_ref}" >&2
mkdir -p "${CONTAINERD_REGISTRY_CONFIG_PATH}/127.0.0.1:${reg_port}"
cat >"${CONTAINERD_REGISTRY_CONFIG_PATH}/127.0.0.1:${reg_port}/hosts.toml" <<TOML
server = "http://127.0.0.1:${reg_port}"
[host."http://127.0.0.1:${reg_port}"]
  capabilities = ["pull", "resolve"]
TOML

step "containerd ${version} with CRI on snapshotter nix"
containerd_start "${version}" "${cdir}"
c_sock="${CONTAINERD_ADDRESS}"

step "nix-snapshotter with the image service pointed at containerd"
cat >"${T}/ns.toml" <<TOML
[image_service]
enable = true
containerd_address = "${c_sock}"
TOML
daemon_start ns "${nix_sock}" "${T}/ns-root" --config "${T}/ns.toml"
ns_pid="${DAEMON_PID}"
# containerd started first: if its proxy connection to the snapshotter gave up while the
# socket was missing, it sits in gRPC reconnect backoff (calls fail fast meanwhile).
wait_containerd_reaches_nix 60

cri() { "${CRI}" --image-endpoint "${nix_sock}" --runtime-endpoint "${c_sock}" --timeout 120 "$@"; }
k8s_images() { ctr_cmd -n k8s.io image ls -q | sort; }
k8s_snapshots() { ctr_cmd -n k8s.io snapshots --snapshotter nix ls | sort; }
# Pods still to remove if the test fails half-way (registered now, so it runs before this
# containerd stops).
declare -A PODS=()
cleanup_pods() {
  local id
  for id in "${!PODS[@]}"; do
    cri stop-pod "${id}" || true
    cri rm-pod "${id}" || true
  done
}
defer cleanup_pods

# containerd 2.x imports through the transfer service, which only unpacks for snapshotters
# listed in its unpack_config: import locally instead.
import_flags=(--snapshotter nix)
[[ "${version}" == 1.7 ]] || import_flags+=(--local)
ctr_cmd -n k8s.io image import "${import_flags[@]}" "${T}/busybox.tar" >&2
wait_until 20 cri status localhost/nixsnap-busybox:latest

# --- nix:0 image end to end -----------------------------------------------------------
step "PullImage ${nix_ref} through nix-snapshotter"
image_ref="$(cri pull "${nix_ref}")"
note "image_ref ${image_ref}"
[[ "${image_ref}" == sha256:* ]] || fail "image_ref is not a config digest: ${image_ref}"

step "the archive was GC-rooted under the daemon root while loading, and is no longer"
# realise made <root>/pull-gcroots/pull-<random>; after the load it is detached at once
# (renamed .removing-*, then reaped), so no pull-* root may outlive the answer.
[[ -d "${T}/ns-root/pull-gcroots" ]] || fail "no ${T}/ns-root/pull-gcroots: the archive was never rooted"
if compgen -G "${T}/ns-root/pull-gcroots/pull-*" >/dev/null; then
  fail "pull GC roots left behind: $(ls -A "${T}/ns-root/pull-gcroots")"
fi

step "ImageStatus right away: by reference, by reference:latest, by image ref"
for r in "${nix_ref}" "${nix_ref}:latest" "${image_ref}"; do
  out="$(cri status "${r}")" || fail "ImageStatus ${r} failed: ${out}"
  assert_eq "${image_ref}" "${out%% *}" "ImageStatus ${r}"
done
assert_contains "$(cri status "${nix_ref}")" "${nix_ref}:latest" "repo tag"

step "run redis in a host-network pod"
port="$(free_port)"
out="$(cri run-redis "${nix_ref}" --port "${port}" --name redis --log-dir "${T}/pods")" ||
  fail "run-redis failed: ${out}"
pod_id="$(awk '$1 == "pod" { print $2 }' <<<"${out}")"
ctr_id="$(awk '$1 == "container" { print $2 }' <<<"${out}")"
PODS["${pod_id}"]=1
wait_until 30 redis-cli -p "${port}" ping
assert_eq PONG "$(redis-cli -p "${port}" ping)" "redis-cli ping"
assert_contains "$(cri container-status "${ctr_id}")" "CONTAINER_RUNNING"
[[ -f "${CONTAINERD_DIR}/runc/k8s.io/${ctr_id}/state.json" ]] ||
  fail "runc state of the redis container is not under the runtime's Root ${CONTAINERD_DIR}/runc"
note "redis answered PONG on port ${port}"

step "ListImages shows it; RemoveImage removes it"
assert_contains "$(cri list)" "${image_ref} ${nix_ref}:latest" "ListImages"
cri stop-pod "${pod_id}"
cri rm-pod "${pod_id}"
unset 'PODS[${pod_id}]'
cri rm "${nix_ref}"
rc=0
cri status "${nix_ref}" >/dev/null || rc=$?
assert_eq 3 "${rc}" "ImageStatus after RemoveImage (3 = absent)"
assert_not_contains "$(k8s_images)" "${nix_ref}" "containerd image after RemoveImage"

step "concurrent PullImage of the same reference loads once"
for i in 1 2 3 4; do
  cri pull "${nix_ref}:latest" >"${T}/pull.${i}" 2>&1 &
  pulls[i]=$!
done
for i in 1 2 3 4; do
  wait "${pulls[i]}" || fail "concurrent pull ${i}: $(cat "${T}/pull.${i}")"
  assert_eq "${image_ref}" "$(cat "${T}/pull.${i}")" "concurrent pull ${i}"
done
loads="$(grep -c 'loaded nix image' "${T}/ns.log" || true)"
# 1 before, then 1 for the four concurrent pulls (a pull arriving after that load finished
# loads again, which is correct; all four loading separately is not).
note "loads logged so far: ${loads}"
(( loads < 5 )) || fail "four concurrent pulls loaded separately (${loads} loads)"
cri rm "${nix_ref}"

# --- regular image through the image service ------------------------------------------
step "regular reference ${reg_ref} falls through to containerd"
reg_id="$(cri pull "${reg_ref}")" || fail "pull ${reg_ref}: ${reg_id}"
assert_eq "${reg_id}" "$(cri status "${reg_ref}" | cut -d' ' -f1)" "ImageStatus ${reg_ref}"
hport="$(free_port)"
out="$(cri run "${reg_ref}" --name web --log-dir "${T}/pods" --command /bin/busybox -- \
  httpd -f -p "127.0.0.1:${hport}" -h /etc)" || fail "run ${reg_ref}: ${out}"
web_pod="$(awk '$1 == "pod" { print $2 }' <<<"${out}")"
PODS["${web_pod}"]=1
wait_until 30 curl -s -o /dev/null "http://127.0.0.1:${hport}/"
note "busybox httpd from the registry image answers on ${hport}"
cri stop-pod "${web_pod}"
cri rm-pod "${web_pod}"
unset 'PODS[${web_pod}]'

# --- bad input ------------------------------------------------------------------------
images_before="$(k8s_images)"
snaps_before="$(k8s_snapshots)"
expect_code() {  # expect_code CODE REF: PullImage REF fails with CODE; nothing changes
  local code="$1" ref="$2" out rc=0
  out="$(cri pull "${ref}" 2>&1)" || rc=$?
  assert_eq 2 "${rc}" "PullImage ${ref} exit status (output: ${out})"
  assert_contains "${out}" "code = ${code}" "PullImage ${ref}"
  note "${ref}: ${out}"
  assert_eq "${images_before}" "$(k8s_images)" "containerd images after PullImage ${ref}"
  assert_eq "${snaps_before}" "$(k8s_snapshots)" "nix snapshots after PullImage ${ref}"
}
step "bad input gives the right code and leaves nothing in containerd"
expect_code INVALID_ARGUMENT "nix:0/etc/passwd"
expect_code INVALID_ARGUMENT "nix:0${archive}/../../etc/passwd"
expect_code INVALID_ARGUMENT "nix:0${archive}:v2"
expect_code INVALID_ARGUMENT "nix:0/nix/store/not-a-hash"
printf 'just text\n' >"${T}/not-an-image.tar"
not_image="$(nix-store --add "${T}/not-an-image.tar")"
expect_code INVALID_ARGUMENT "nix:0${not_image}"
expect_code NOT_FOUND "nix:0/nix/store/0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-missing-image.tar"
rc=0
out="$(cri pull "127.0.0.1:${reg_port}/nixsnap/absent:1" 2>&1)" || rc=$?
assert_eq 2 "${rc}" "pull of an absent registry image"
note "absent registry image: ${out}"
assert_eq "${images_before}" "$(k8s_images)" "containerd images after absent registry pull"

step "containerd down: UNAVAILABLE naming the address, fast; then recovery"
stop_pid "${CONTAINERD_PID}" containerd
# UNAVAILABLE proves fail-fast: a call that waited for containerd would end at the client's
# deadline with DEADLINE_EXCEEDED instead. The time taken is reported, not asserted.
start=$(date +%s)
for r in "${nix_ref}" "${reg_ref}"; do
  rc=0
  out="$(cri pull "${r}" 2>&1)" || rc=$?
  assert_eq 2 "${rc}" "pull ${r} with containerd down"
  assert_contains "${out}" "code = UNAVAILABLE" "pull ${r} with containerd down"
  assert_contains "${out}" "${c_sock}" "message names containerd's address"
done
note "both pulls with containerd down answered in $(($(date +%s) - start)) s"
is_running "${ns_pid}" || fail "nix-snapshotter died while containerd was down"
containerd_start "${version}" "${cdir}"
wait_until 30 cri status "${reg_ref}"
assert_eq "${images_before}" "$(k8s_images)" "containerd images after the outage"
image_ref2="$(cri pull "${nix_ref}")"
assert_eq "${image_ref}" "${image_ref2}" "nix pull after containerd came back"
cri rm "${nix_ref}"

step "start-up check: quiet on a good setup, warns when snapshot annotations are disabled"
assert_contains "$(cat "${T}/ns.log")" "containerd CRI reachable" "start-up check ran"
assert_not_contains "$(cat "${T}/ns.log")" "disable_snapshot_annotations = true" "false warning"
if [[ "${version}" == 1.7 ]]; then
  printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n' >"${T}/bad.toml"
else
  printf 'version = 3\n[plugins."io.containerd.cri.v1.images"]\n' >"${T}/bad.toml"
fi
printf 'disable_snapshot_annotations = true\n' >>"${T}/bad.toml"
export CONTAINERD_NIX_SOCKET="${T}/ns2.sock"
containerd_start "${version}" "${T}/c2" "${T}/bad.toml"
printf '[image_service]\ncontainerd_address = "%s"\n' "${CONTAINERD_ADDRESS}" >"${T}/ns2.toml"
daemon_start ns2 "${T}/ns2.sock" "${T}/ns2-root" --config "${T}/ns2.toml"
# 1.7 reports the setting in CRI Status; 2.x keeps its image config out of it and the
# check reads containerd's effective config instead (cri_annotations_check.sh covers both
# sources and both values).
wanted="disable_snapshot_annotations = true"
wait_until 20 grep -q "${wanted}" "${T}/ns2.log"
note "$(grep -m1 "${wanted}" "${T}/ns2.log")"

printf 'PASS: CRI image service with containerd %s (redis from nix:0, registry fallthrough, bad input)\n' "${version}"
