#!/usr/bin/env bash
# The closure-layer format (the original's v0.3+), with real parts only: a closureInfo-like
# store path made the original's way (a raw derivation listing a real closure, fixtures/
# closure_info.nix), an image written by hand without our builder (fixtures/
# make_nix_image.sh: a gzip layer of mountpoints whose descriptor carries only
# containerd.io/snapshot/nix-closure), loaded with `nix2container load` into containerd
# VERSION with nix-snapshotter as the proxy snapshotter, the closure deleted locally and
# substituted from a loopback HTTP binary cache. Checks: the program runs; one GC root per
# layer; an image lacking mountpoints runs too (the daemon adds them); a legacy image of
# the same closure runs beside it; Nix's collector keeps the closure while an image
# exists and collects it after the images are removed; hostile labels and store-paths
# files are refused with nothing left behind.
#
# Usage: tests/integration/closure_layer.sh 1.7|2.1   (root; run under the integration flock:
# it garbage-collects the Nix store; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"
# shellcheck source=tests/integration/fixtures/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures/common.sh"

version="${1:?usage: closure_layer.sh 1.7|2.1}"
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
seed="closure-layer-${version}-$$-${RANDOM}"
msg="hello from a closure layer ${version}"
CLOSURE_LABEL=containerd.io/snapshot/nix-closure

step "a closure and its closureInfo, made the original's way (seed ${seed})"
make_busybox_dir "${T}/bb"
hello="$(bash "${F}/nix_closure.sh" hello --seed "${seed}" --message "${msg}")"
# closure_info [NIX-BUILD ARGS...]: a closureInfo-like path listing hello's closure.
closure_info() {
  nix-build "${F}/closure_info.nix" --no-out-link --quiet --option substituters '' \
    --arg busyboxDir "${T}/bb" --argstr rootPath "${hello}" --argstr seed "${seed}" "$@"
}
info="$(closure_info)"
nix-store -qR "${hello}" | sort >"${T}/closure"
assert_eq "$(cat "${T}/closure")" "$(cat "${info}/store-paths")" "store-paths lists the closure"
[[ -f "${info}/registration" ]] || fail "no registration file in ${info}"
refs="$(nix-store -q --references "${info}" | sort)"
assert_eq "$(cat "${T}/closure")" "${refs}" "the closureInfo references its whole closure"

step "images written by hand: closure format, closure format without mountpoints, legacy"
image() { bash "${F}/make_nix_image.sh" "$@" >/dev/null; }
image "${T}/closure.tar" "localhost/closure-layer:${version}" --entrypoint "${hello}/bin/hello" \
  --mountpoints "${T}/closure" --annotation "${CLOSURE_LABEL}=${info}"
image "${T}/bare.tar" "localhost/closure-bare:${version}" --entrypoint "${hello}/bin/hello" \
  --annotation "${CLOSURE_LABEL}=${info}"
legacy_args=(--annotation containerd.io/snapshot/nix-layer=true)
i=0
while IFS= read -r p; do
  legacy_args+=(--annotation "containerd.io/snapshot/nix-store-path.${i}=${p}")
  i=$((i + 1))
done <"${T}/closure"
image "${T}/legacy.tar" "localhost/closure-legacy:${version}" --entrypoint "${hello}/bin/hello" \
  --mountpoints "${T}/closure" "${legacy_args[@]}"

step "the same closure built by our nix2container build (closure format by default)"
printf '{"Entrypoint":["%s/bin/hello"]}' "${hello}" >"${T}/ours-config.json"
"${N2C}" build --config "${T}/ours-config.json" --closure "${info}/store-paths" \
  --ref "localhost/closure-ours:${version}" "${T}/ours.tar" >/dev/null
mkdir -p "${T}/ours"
tar -xf "${T}/ours.tar" -C "${T}/ours"
ours_manifest="$(jq -r '.manifests[0].digest' "${T}/ours/index.json")"
assert_eq "{\"${CLOSURE_LABEL}\":\"${info}\"}" \
  "$(jq -c '.layers[-1].annotations' "${T}/ours/blobs/${ours_manifest/://}")" \
  "our build annotates only the closure"

step "binary cache over loopback HTTP; the closure deleted locally"
bash "${F}/make_binary_cache.sh" "${T}/cache" "${info}" >/dev/null
# busybox-static stays: other fixtures share it (content-addressed import). The .drv goes
# too: it names hello as an input (builtins.storePath), which keeps hello from deletion.
drv="$(nix-store -q --deriver "${info}")"
{ echo "${info}"; echo "${drv}"; grep -v -- '-busybox-static$' "${T}/closure"; } |
  xargs nix-store --delete >"${T}/delete.log" 2>&1 ||
  fail "could not delete the closure locally: $(tail -n 3 "${T}/delete.log")"
[[ ! -e "${info}" && ! -e "${hello}" ]] || fail "closure still present after nix-store --delete"
serve_dir "${T}/cache"

step "start nix-snapshotter (substituting from ${HTTP_URL}) and containerd ${version}"
export NIX_CONFIG=$'substituters = '"${HTTP_URL}"$'\nrequire-sigs = false\nnarinfo-cache-negative-ttl = 0'
daemon_start nix-snapshotter "${T}/ns.sock" "${T}/root"
unset NIX_CONFIG
CONTAINERD_NIX_SOCKET="${T}/ns.sock" containerd_start "${version}" "${T}/cd"
n2c() { "${N2C}" --address "${CONTAINERD_ADDRESS}" --namespace default "$@"; }
roots() { find "${T}/root/gcroots" -mindepth 2 -maxdepth 2 -not -path '*/.removing-*' | sort; }

step "load and run the closure-format image: substituted, one GC root"
n2c load "${T}/closure.tar" >/dev/null
[[ -e "${info}" && -e "${hello}" ]] || fail "the closure was not substituted at Prepare"
assert_eq "$(basename "${info}")" "$(roots | xargs -n1 basename)" "one GC root, on the closure"
assert_eq "${msg}" "$(ctr_cmd run --rm --snapshotter nix "localhost/closure-layer:${version}" \
  cl1)" "output of the closure-format image"
seen="$(ctr_cmd run --rm --snapshotter nix "localhost/closure-layer:${version}" cl2 \
  "$(grep -- '-busybox-static$' "${T}/closure")/bin/busybox" ls /nix/store | sort)"
assert_eq "$(xargs -n1 basename <"${T}/closure" | sort)" "${seen}" "store paths in the container"

step "an image whose layer lacks the mountpoints runs (the daemon adds them)"
n2c load "${T}/bare.tar" >/dev/null
assert_eq "${msg}" "$(ctr_cmd run --rm --snapshotter nix "localhost/closure-bare:${version}" \
  cl3)" "output of the image without mountpoints"

step "a legacy image of the same closure runs beside them"
n2c load "${T}/legacy.tar" >/dev/null
assert_eq "${msg}" "$(ctr_cmd run --rm --snapshotter nix "localhost/closure-legacy:${version}" \
  cl4)" "output of the legacy image"

step "the image our builder wrote runs on the same closure"
n2c load "${T}/ours.tar" >/dev/null
assert_eq "${msg}" "$(ctr_cmd run --rm --snapshotter nix "localhost/closure-ours:${version}" \
  cl-ours)" "output of the image built by nix2container build"

step "hostile closure labels and store-paths files are refused, nothing left behind"
other="$(bash "${F}/nix_closure.sh" hello --seed "${seed}-other")"
sn_before="$(ctr_cmd snapshots --snapshotter nix ls)"
roots_before="$(roots)"
# hostile NAME LABEL-VALUE EXPECTED-TEXT: loading an image with that label fails.
hostile() {
  local name="$1" value="$2" want="$3"
  image "${T}/${name}.tar" "localhost/hostile-${name}:${version}" \
    --entrypoint "${hello}/bin/hello" --annotation "${CLOSURE_LABEL}=${value}" \
    --file "/hostile-${name}"
  assert_fails n2c load "${T}/${name}.tar"
  note "${name}: $(printf '%s' "${ASSERT_OUTPUT}" | tail -n 1 | cut -c1-300)"
  assert_contains "${ASSERT_OUTPUT}" "${want}"
}
hostile outside /etc '"/etc"'
hostile dotdot "/nix/store/../etc" '"/nix/store/../etc"'
hostile host-line "$(closure_info --argstr extraLines /etc)" '"/etc"'
hostile dotdot-line "$(closure_info --argstr extraLines "${hello}/..")" "${hello}/.."
hostile stranger "$(closure_info --argstr extraLines "${other}")" "not in the closure"
hostile huge "$(closure_info --arg padBytes 17000000)" "more than the limit"
hostile no-list "$(closure_info --arg noList true)" "not a closureInfo output"
hostile not-info "${hello}" "not a closureInfo output"
assert_eq "${sn_before}" "$(ctr_cmd snapshots --snapshotter nix ls)" "snapshots after refusals"
assert_eq "${roots_before}" "$(roots)" "GC roots after refusals"

# Garbage collection is scoped to this test's own paths (nix-store --delete runs the
# collector's liveness check on just them): a whole-store nix-collect-garbage would take
# the unrooted paths of tests running in parallel.
step "the collector keeps the closure while an image uses it"
ctr_cmd images rm --sync "localhost/closure-bare:${version}" "localhost/closure-legacy:${version}" \
  "localhost/closure-ours:${version}" >/dev/null
while IFS= read -r ref; do
  ctr_cmd images rm --sync "${ref}" >/dev/null
done < <(ctr_cmd images ls -q | grep hostile- || true)
wait_until 60 bash -c "[[ \$(find '${T}/root/gcroots' -mindepth 2 -maxdepth 2 \
  -not -path '*/.removing-*' | wc -l) == 1 ]]"
out="$(nix-store --delete "${info}" "${hello}" 2>&1)" &&
  fail "nix-store --delete removed a closure in use"
assert_contains "${out}" "still alive" "nix-store --delete refusal"
[[ -e "${info}" && -e "${hello}" ]] || fail "the collector took a closure in use"
assert_eq "${msg}" "$(ctr_cmd run --rm --snapshotter nix "localhost/closure-layer:${version}" \
  cl5)" "output after garbage collection"

step "after the image is removed, the collector takes the closure"
ctr_cmd images rm --sync "localhost/closure-layer:${version}" >/dev/null
wait_until 60 bash -c "[[ -z \$(find '${T}/root/gcroots' -mindepth 1 -maxdepth 1) ]]"
# This test's paths: both seeded closures (busybox-static is shared) and whatever refers
# to them (the closureInfos, the hostile ones included).
mapfile -t own < <(nix-store -qR "${hello}" "${other}" | grep -v -- '-busybox-static$')
mapfile -t mine < <(nix-store -q --referrers-closure "${own[@]}" | sort -u)
out="$(nix-store --delete "${mine[@]}" 2>&1)" ||
  fail "nix-store --delete refused the closure after the image was removed: ${out}"
for p in "${info}" "${mine[@]}"; do
  [[ ! -e "${p}" ]] || fail "${p} survived garbage collection after the image was removed"
done

step "closure layers on containerd ${version}: all good"
